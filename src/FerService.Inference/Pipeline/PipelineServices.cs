using FerService.Inference.Alignment;
using FerService.Inference.Batching;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FerService.Inference.Pipeline;

public static class PipelineServices
{
    /// <summary>
    /// The pipeline's parts, one singleton each (created once, shared, disposed with the container), configured by the
    /// options classes: the service binds those to configuration, the benchmarks set them in code. One wiring for both.
    /// <see cref="DecodeLimits"/> defaults to <see cref="DecodeLimits.Default"/> unless registered already.
    /// </summary>
    public static IServiceCollection AddEmotionPipeline(this IServiceCollection services)
    {
        services.AddOptions<OnnxOptions>();
        services.AddOptions<DetectionOptions>().PostConfigure(options => options.ResolveModelPaths());
        services.AddOptions<FerModelOptions>();
        services.AddOptions<BatchingOptions>();
        services.AddOptions<PipelineOptions>();
        services.TryAddSingleton(DecodeLimits.Default);

        services.AddSingleton<OnnxSessionFactory>();
        services.AddSingleton<IImageDecoder, SkiaImageDecoder>();
        services.AddSingleton<IFaceDetector>(sp => new BlazeFaceDetector(
            sp.GetRequiredService<OnnxSessionFactory>(), sp.GetRequiredService<IOptions<DetectionOptions>>().Value));
        services.AddSingleton<IEmotionClassifier>(sp => new EmotionClassifier(
            FerModelOptions.Resolve(sp.GetRequiredService<IOptions<FerModelOptions>>().Value.ClassifierManifest),
            sp.GetRequiredService<OnnxSessionFactory>()));
        services.AddSingleton(sp => new FaceAligner(sp.GetRequiredService<IEmotionClassifier>().Manifest.Input));
        services.AddSingleton(sp => new BatchScheduler(sp.GetRequiredService<IEmotionClassifier>(), sp.GetRequiredService<IOptions<BatchingOptions>>().Value));
        services.AddSingleton<PipelineFactory>();
        services.AddSingleton(sp => sp.GetRequiredService<PipelineFactory>().Create(sp.GetRequiredService<IFaceDetector>()));
        return services;
    }
}

/// <summary>
/// Builds pipelines that share the decoder, aligner, batch scheduler (one classifier queue) and the image workers
/// (one set of cores) around a given detector.
/// </summary>
public sealed class PipelineFactory(IImageDecoder decoder, FaceAligner aligner, BatchScheduler scheduler, DecodeLimits limits,
    IOptions<PipelineOptions> options) : IDisposable
{
    private readonly ImageWorkers _workers = new(options.Value.ConcurrentImages);

    public EmotionPipeline Create(IFaceDetector detector) => new(decoder, detector, aligner, scheduler, limits, options.Value, _workers);

    public void Dispose() => _workers.Dispose();
}
