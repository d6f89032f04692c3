using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
    /// <summary>Long side of the detector's input.</summary>
    public int DetectorInputSide { get; init; } = Detection.MaxInputSide;
    public float MinScore { get; init; } = Detection.MinScore;
    public bool FlipAveraging { get; init; } = new PipelineOptions().FlipAveraging;
    public int MaxBatchSize { get; init; } = new BatchingOptions().MaxBatchSize;
    /// <summary>Images decoded and detected at once (0 = one per core, the default).</summary>
    public int MaxConcurrentImages { get; init; } = new PipelineOptions().MaxConcurrentImages;

    /// <summary>"int8" (the service's default card, the quantised twin) or "fp32" (the float model it was made from).</summary>
    public string Classifier { get; init; } = new FerModelOptions().ClassifierManifest.EndsWith("-int8.json", StringComparison.Ordinal) ? "int8" : "fp32";

    public string ClassifierManifest => Classifier == "int8" ? "emotion-fer2013-int8.json" : "emotion-fer2013.json";

    public static string DetectorFile => Path.GetFileName(Detection.ModelPath);
}

/// <summary>The bare pipeline, in process and without HTTP: the service's own registrations, with options set in code.</summary>
internal sealed class BenchPipeline : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public BenchPipeline(PipelineSettings settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddEmotionPipeline();
        services.Configure<OnnxOptions>(options => options.IntraOpThreads = settings.IntraOpThreads);
        services.Configure<DetectionOptions>(options =>
        {
            options.ModelPath = Path.Combine(Repository.Models, PipelineSettings.DetectorFile);
            options.MaxInputSide = settings.DetectorInputSide;
            options.MinScore = settings.MinScore;
        });
        services.Configure<FerModelOptions>(options => options.ClassifierManifest = Path.Combine(Repository.Models, settings.ClassifierManifest));
        services.Configure<BatchingOptions>(options => options.MaxBatchSize = settings.MaxBatchSize);
        services.Configure<PipelineOptions>(options =>
        {
            options.FlipAveraging = settings.FlipAveraging;
            options.MaxConcurrentImages = settings.MaxConcurrentImages;
        });
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Pipeline = _services.GetRequiredService<EmotionPipeline>();
        Request = new(true, DetectionOptions.DefaultRequest(50));
    }

    public OnnxSessionFactory Sessions => _services.GetRequiredService<OnnxSessionFactory>();

    public EmotionPipeline Pipeline { get; }

    public FaceAligner Aligner => _services.GetRequiredService<FaceAligner>();

    public YuNetDetector Detector => (YuNetDetector)_services.GetRequiredService<IFaceDetector>();

    public EmotionClassifier Classifier => (EmotionClassifier)_services.GetRequiredService<IEmotionClassifier>();

    public IImageDecoder Decoder => _services.GetRequiredService<IImageDecoder>();

    /// <summary>The detector's options as configured (model paths as given, not yet resolved).</summary>
    public DetectionOptions DetectionOptions => _services.GetRequiredService<IOptions<DetectionOptions>>().Value;

    public bool FlipAveraging => _services.GetRequiredService<IOptions<PipelineOptions>>().Value.FlipAveraging;

    /// <summary>Detect with the configured threshold, as a request that names none.</summary>
    public AnalysisRequest Request { get; }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
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
