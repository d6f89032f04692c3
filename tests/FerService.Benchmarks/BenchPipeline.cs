using FerService.Inference.Alignment;
using FerService.Inference.Batching;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace FerService.Benchmarks;

/// <summary>What the pipeline is built with; the defaults are read from the options classes, so they cannot drift from the service's.</summary>
internal sealed record PipelineSettings
{
    private static readonly OnnxOptions Onnx = new();
    private static readonly DetectionOptions Detection = new();

    public int IntraOpThreads { get; init; } = Onnx.IntraOpThreads;
    public bool Spinning { get; init; } = Onnx.IntraOpSpinning;
    public GraphOptimizationLevel OptimizationLevel { get; init; } = Onnx.GraphOptimizationLevel;
    /// <summary>"256" (back-camera, the service's default) or "128" (front-camera short-range model).</summary>
    public string Detector { get; init; } = "256";
    public bool Tiling { get; init; } = Detection.Tiling;
    public float TileProposalScore { get; init; } = Detection.TileProposalScore;
    public bool FlipAveraging { get; init; } = new PipelineOptions().FlipAveraging;
    public int MaxBatchSize { get; init; } = new BatchingOptions().MaxBatchSize;

    public string DetectorFile => Detector == "128" ? "face_detection_front_128x128_barracuda.onnx" : "face_detection_back_256x256_barracuda.onnx";
}

/// <summary>The bare pipeline, in process and without HTTP: the same classes the service registers, built by hand.</summary>
internal sealed class BenchPipeline : IAsyncDisposable
{
    private readonly BlazeFaceDetector _detector;
    private readonly EmotionClassifier _classifier;
    private readonly BatchScheduler _scheduler;

    public BenchPipeline(PipelineSettings settings)
    {
        Sessions = new OnnxSessionFactory(Options.Create(new OnnxOptions
        {
            IntraOpThreads = settings.IntraOpThreads,
            IntraOpSpinning = settings.Spinning,
            GraphOptimizationLevel = settings.OptimizationLevel,
        }), NullLogger<OnnxSessionFactory>.Instance);
        _detector = new BlazeFaceDetector(Sessions, new DetectionOptions
        {
            ModelPath = Path.Combine(Repository.Models, settings.DetectorFile),
            Tiling = settings.Tiling,
            TileProposalScore = settings.TileProposalScore,
        });
        _classifier = new EmotionClassifier(Path.Combine(Repository.Models, "emotion-fer2013.json"), Sessions);
        Aligner = new FaceAligner(_classifier.Manifest.Input);
        _scheduler = new BatchScheduler(_classifier, new BatchingOptions { MaxBatchSize = settings.MaxBatchSize });
        Pipeline = new EmotionPipeline(new SkiaImageDecoder(), _detector, Aligner, _scheduler, DecodeLimits.Default,
            new PipelineOptions { FlipAveraging = settings.FlipAveraging });
    }

    public OnnxSessionFactory Sessions { get; }

    public EmotionPipeline Pipeline { get; }

    public FaceAligner Aligner { get; }

    public BlazeFaceDetector Detector => _detector;

    public EmotionClassifier Classifier => _classifier;

    public static AnalysisRequest Request { get; } = new(true, new DetectionRequest(0.6f, 50, 0));

    public async ValueTask DisposeAsync()
    {
        await _scheduler.DisposeAsync().ConfigureAwait(false);
        _classifier.Dispose();
        _detector.Dispose();
    }
}

/// <summary>Finds the repository (FerService.sln) above the binaries, its models and the FER2013 data under data/.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FerService.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Run the benchmarks inside the repository (FerService.sln not found above the binaries).");
    }
}
