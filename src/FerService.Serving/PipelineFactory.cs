using FerService.Inference;
using FerService.Inference.Alignment;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using Microsoft.Extensions.Options;

namespace FerService.Serving;

/// <summary>
/// Builds pipelines that share the decoder, aligner, batch scheduler (one classifier queue) and the image workers
/// (one set of cores) around a given detector: the service's, or another one (the stream's, with a smaller input).
/// </summary>
public sealed class PipelineFactory : IDisposable
{
    private readonly IImageDecoder _decoder;
    private readonly FaceAligner _aligner;
    private readonly BatchScheduler _scheduler;
    private readonly DecodeLimits _limits;
    private readonly PipelineOptions _options;
    private readonly ServingMetrics? _metrics;
    private readonly ImageWorkers _workers;
    private readonly OnnxSessionFactory _sessions;
    private readonly ModelCard _model;
    private readonly List<YuNetDetector> _detectors = [];

    internal PipelineFactory(IImageDecoder decoder, FaceAligner aligner, BatchScheduler scheduler, DecodeLimits limits,
        IOptions<PipelineOptions> options, OnnxSessionFactory sessions, ModelCard model, ServingMetrics? metrics = null)
    {
        _sessions = sessions;
        _model = model;
        _decoder = decoder;
        _aligner = aligner;
        _scheduler = scheduler;
        _limits = limits;
        _options = options.Value;
        _metrics = metrics;
        _workers = new ImageWorkers(_options.ConcurrentImages, metrics);
    }

    /// <summary>A pipeline around a detector of its own, made from <paramref name="detection"/> and disposed with this factory.</summary>
    public EmotionPipeline Create(DetectionOptions detection)
    {
        var detector = new YuNetDetector(_sessions, detection.WithResolvedModelPaths());
        lock (_detectors)
        {
            _detectors.Add(detector);
        }
        return Create(detector);
    }

    internal EmotionPipeline Create(IFaceDetector detector) =>
        new(_decoder, detector, _aligner, _scheduler, _limits, _options, _workers, _metrics, _model, _sessions);

    public void Dispose()
    {
        _workers.Dispose();
        lock (_detectors)
        {
            foreach (var detector in _detectors)
            {
                detector.Dispose();
            }
            _detectors.Clear();
        }
    }
}
