using System.Diagnostics;
using FerService.Inference;
using FerService.Inference.Alignment;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using SkiaSharp;

namespace FerService.Serving;

/// <summary>decode → detect → align → (batched) classify for one image: the service's path, batching every request's crops.</summary>
public sealed class EmotionPipeline
{
    private readonly FaceCropper _cropper;
    private readonly FaceAligner _aligner;
    private readonly BatchScheduler _scheduler;
    private readonly PipelineOptions _options;
    private readonly ImageWorkers _workers;
    private readonly ServingMetrics? _metrics;
    private readonly OnnxSessionFactory _sessions;

    /// <param name="workers">Decode, detect and align <see cref="PipelineOptions.ConcurrentImages"/> images at once, in arrival order; shared by every pipeline of a host.</param>
    internal EmotionPipeline(IImageDecoder decoder, IFaceDetector detector, FaceAligner aligner, BatchScheduler scheduler, DecodeLimits limits,
        PipelineOptions options, ImageWorkers workers, ServingMetrics? metrics, ModelCard model, OnnxSessionFactory sessions)
    {
        Model = model;
        _sessions = sessions;
        _cropper = new(decoder, detector, aligner, limits);
        _aligner = aligner;
        _scheduler = scheduler;
        _options = options;
        _workers = workers;
        _metrics = metrics;
    }

    /// <summary>The classifier's card: the labels of <see cref="FaceEmotion.ClassProbabilities"/>, the uncertainty threshold, the whole card.</summary>
    public ModelCard Model { get; }

    /// <summary>"CPU" or "CUDA": the ONNX Runtime execution provider the models run on.</summary>
    public string ExecutionProvider => _sessions.ActiveProvider;

    /// <exception cref="ImageDecodeException">The image is unsupported, corrupt or too large.</exception>
    /// <exception cref="QueueFullException">The classifier queue is full.</exception>
    public async Task<ImageAnalysis> AnalyzeAsync(ReadOnlyMemory<byte> data, AnalysisRequest request, CancellationToken cancellationToken) =>
        (await AnalyzeCoreAsync(data, request, keepImage: false, cancellationToken).ConfigureAwait(false)).Analysis;

    /// <summary>Like <see cref="AnalyzeAsync"/>, and draws the faces onto the image (displayed orientation), encoded as <paramref name="format"/>.</summary>
    /// <exception cref="ImageDecodeException">The image is unsupported, corrupt or too large.</exception>
    /// <exception cref="QueueFullException">The classifier queue is full.</exception>
    public async Task<(ImageAnalysis Analysis, byte[] Annotated)> AnnotateAsync(ReadOnlyMemory<byte> data, AnalysisRequest request,
        FaceAnnotator annotator, SKEncodedImageFormat format, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(annotator);
        var (analysis, image) = await AnalyzeCoreAsync(data, request, keepImage: true, cancellationToken).ConfigureAwait(false);
        using (image)
        {
            return (analysis, annotator.Draw(image!, analysis.Faces, Model, format));
        }
    }

    private async Task<(ImageAnalysis Analysis, RgbaImage? Image)> AnalyzeCoreAsync(ReadOnlyMemory<byte> data, AnalysisRequest request, bool keepImage,
        CancellationToken cancellationToken)
    {
        var prepared = await _workers.RunAsync(() => _cropper.Prepare(data.Span, request, keepImage, cancellationToken), cancellationToken).ConfigureAwait(false);
        var image = prepared.Image;
        try
        {
            var crops = prepared.Crops;
            var classifyStarted = Stopwatch.GetTimestamp();
            var views = _options.FlipAveraging ? 2 : 1;
            var pending = new Task<float[]>[crops.Count * views];
            for (var i = 0; i < crops.Count; i++)
            {
                pending[i * views] = _scheduler.ClassifyAsync(crops[i].Crop, cancellationToken);
                if (_options.FlipAveraging)
                {
                    pending[i * views + 1] = _scheduler.ClassifyAsync(FaceCropper.Mirror(crops[i].Crop, _aligner.Input.Width), cancellationToken);
                }
            }
            var probabilities = await Task.WhenAll(pending).ConfigureAwait(false);
            var results = new FaceEmotion[crops.Count];
            for (var i = 0; i < crops.Count; i++)
            {
                var face = probabilities[i * views];
                if (_options.FlipAveraging)
                {
                    ModelCard.AverageWithMirror(face, probabilities[i * views + 1]);
                }
                results[i] = Model.Face(crops[i].Box, crops[i].Score, crops[i].Landmarks, face);
            }
            var classifyMs = Stopwatch.GetElapsedTime(classifyStarted).TotalMilliseconds;
            if (_metrics is not null)
            {
                _metrics.DecodeSeconds.Record(prepared.DecodeMs / 1000);
                _metrics.DetectSeconds.Record(prepared.DetectMs / 1000);
                _metrics.DetectorRuns.Record(prepared.DetectorRuns);
                _metrics.ClassifySeconds.Record(classifyMs / 1000);
                _metrics.FacesPerImage.Record(results.Length);
            }
            var analysis = new ImageAnalysis(prepared.Width, prepared.Height, results, new AnalysisTimings(prepared.DecodeMs, prepared.DetectMs, classifyMs));
            var kept = image;
            image = null; // ownership moves to the caller
            return (analysis, kept);
        }
        finally
        {
            image?.Dispose();
        }
    }
}
