using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace FerService.Inference;

/// <summary>
/// The library's front door: finds every face in an image and labels its expression, on the calling thread, with the models
/// that ship beside the library. Create once and share: it is safe to use from several threads at once and owns no threads
/// of its own. The service builds the same parts into a pipeline that batches faces across requests (<c>FerService.Serving.EmotionPipeline</c>).
/// </summary>
public sealed class EmotionAnalyzer : IDisposable
{
    private readonly YuNetDetector _detector;
    private readonly EmotionClassifier _classifier;
    private readonly FaceCropper _cropper;
    private readonly FaceAligner _aligner;
    private readonly bool _flipAveraging;

    private EmotionAnalyzer(EmotionAnalyzerOptions options, DetectionOptions detection)
    {
        var sessions = new OnnxSessionFactory(Microsoft.Extensions.Options.Options.Create(options.Onnx), NullLogger<OnnxSessionFactory>.Instance);
        _detector = new YuNetDetector(sessions, detection);
        try
        {
            _classifier = new EmotionClassifier(FerModelOptions.Resolve(options.ClassifierManifest), sessions);
        }
        catch
        {
            _detector.Dispose();
            throw;
        }
        _aligner = new FaceAligner(_classifier.Manifest.Input);
        Model = new ModelCard(_classifier.Manifest);
        _cropper = new FaceCropper(new SkiaImageDecoder(), _detector, _aligner, options.Limits);
        _flipAveraging = options.Pipeline.FlipAveraging;
        DefaultRequest = new AnalysisRequest(true, detection.DefaultRequest(DefaultMaxFaces));
    }

    /// <summary>The most faces one call reports unless asked otherwise (the service's default limit).</summary>
    public const int DefaultMaxFaces = 50;

    /// <exception cref="FileNotFoundException">A model or its card is missing.</exception>
    /// <exception cref="InvalidDataException">A model does not match its card.</exception>
    public static EmotionAnalyzer Create(EmotionAnalyzerOptions? options = null)
    {
        options ??= new EmotionAnalyzerOptions();
        return new EmotionAnalyzer(options, options.Detection.WithResolvedModelPaths());
    }

    /// <summary>The classifier's card: labels, uncertainty threshold, and the whole card (accuracy, calibration, intended use).</summary>
    public ModelCard Model { get; }

    /// <summary>Detection with the configured minimum score, up to <see cref="DefaultMaxFaces"/> faces of any size.</summary>
    public AnalysisRequest DefaultRequest { get; }

    /// <exception cref="ImageDecodeException">The image is unsupported, corrupt or too large.</exception>
    public EmotionAnalysis Analyze(ReadOnlySpan<byte> image) => Analyze(image, DefaultRequest);

    /// <exception cref="ImageDecodeException">The image is unsupported, corrupt or too large.</exception>
    public EmotionAnalysis Analyze(ReadOnlySpan<byte> image, AnalysisRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var prepared = _cropper.Prepare(image, request, keepImage: false, CancellationToken.None);
        var faces = prepared.Crops;
        var classes = Model.Labels.Count;
        var views = _flipAveraging ? 2 : 1;
        var cropLength = _aligner.CropLength;
        var crops = new float[faces.Count * views * cropLength];
        for (var i = 0; i < faces.Count; i++)
        {
            var crop = faces[i].Crop;
            crop.CopyTo(crops, i * views * cropLength);
            if (_flipAveraging)
            {
                FaceCropper.Mirror(crop, crops.AsSpan((i * views + 1) * cropLength, cropLength), _aligner.Input.Width);
            }
        }
        var logits = new float[faces.Count * views * classes];
        if (faces.Count > 0)
        {
            _classifier.ComputeLogits(crops, faces.Count * views, logits);
        }

        var results = new FaceEmotion[faces.Count];
        Span<float> mirrored = stackalloc float[classes];
        for (var i = 0; i < faces.Count; i++)
        {
            var probabilities = new float[classes];
            Softmax.Compute(logits.AsSpan(i * views * classes, classes), probabilities, _classifier.Manifest.Temperature);
            if (_flipAveraging)
            {
                Softmax.Compute(logits.AsSpan((i * views + 1) * classes, classes), mirrored, _classifier.Manifest.Temperature);
                ModelCard.AverageWithMirror(probabilities, mirrored);
            }
            var face = faces[i];
            results[i] = Model.Face(face.Box, face.Score, face.Landmarks, probabilities);
        }
        return new EmotionAnalysis(prepared.Width, prepared.Height, results);
    }

    /// <summary><see cref="Analyze(ReadOnlySpan{byte}, AnalysisRequest)"/> on the thread pool.</summary>
    public Task<EmotionAnalysis> AnalyzeAsync(ReadOnlyMemory<byte> image, AnalysisRequest? request = null, CancellationToken cancellationToken = default)
    {
        var chosen = request ?? DefaultRequest;
        return Task.Run(() => Analyze(image.Span, chosen), cancellationToken);
    }

    public void Dispose()
    {
        _classifier.Dispose();
        _detector.Dispose();
    }
}
