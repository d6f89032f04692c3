using FerService.Inference.Alignment;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using Microsoft.Extensions.Options;

namespace FerService.Serving;

/// <summary>
/// Builds pipelines that share the decoder, aligner, batch scheduler (one classifier queue) and the image workers
/// (one set of cores) around a given detector.
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

    internal PipelineFactory(IImageDecoder decoder, FaceAligner aligner, BatchScheduler scheduler, DecodeLimits limits,
        IOptions<PipelineOptions> options, ServingMetrics? metrics = null)
    {
        _decoder = decoder;
        _aligner = aligner;
        _scheduler = scheduler;
        _limits = limits;
        _options = options.Value;
        _metrics = metrics;
        _workers = new ImageWorkers(_options.ConcurrentImages, metrics);
    }

    public EmotionPipeline Create(IFaceDetector detector) => new(_decoder, detector, _aligner, _scheduler, _limits, _options, _workers, _metrics);

    public void Dispose() => _workers.Dispose();
}
