using FerService.Inference;
using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace FerService.Serving;

/// <summary>The serving layer's wiring: the pipeline's parts as singletons of a DI container.</summary>
public static class PipelineServices
{
    /// <summary>The meter of the serving layer's instruments (stage times, batch sizes, queue lengths), for a host to export.</summary>
    public const string MeterName = ServingMetrics.MeterName;

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
        services.AddMetrics();
        services.TryAddSingleton<ServingMetrics>();

        services.AddSingleton<OnnxSessionFactory>();
        services.AddSingleton<IImageDecoder>(new SkiaImageDecoder());
        services.AddSingleton<IFaceDetector>(sp => new YuNetDetector(
            sp.GetRequiredService<OnnxSessionFactory>(), sp.GetRequiredService<IOptions<DetectionOptions>>().Value));
        services.AddSingleton<IEmotionClassifier>(sp => new EmotionClassifier(
            FerModelOptions.Resolve(sp.GetRequiredService<IOptions<FerModelOptions>>().Value.ClassifierManifest),
            sp.GetRequiredService<OnnxSessionFactory>()));
        services.AddSingleton(sp => new ModelCard(sp.GetRequiredService<IEmotionClassifier>().Manifest));
        services.AddSingleton(sp => new FaceAligner(sp.GetRequiredService<IEmotionClassifier>().Manifest.Input));
        services.AddSingleton(sp => new BatchScheduler(sp.GetRequiredService<IEmotionClassifier>(), sp.GetRequiredService<IOptions<BatchingOptions>>().Value,
            sp.GetRequiredService<ServingMetrics>()));
        services.AddSingleton(sp => new PipelineFactory(sp.GetRequiredService<IImageDecoder>(), sp.GetRequiredService<FaceAligner>(),
            sp.GetRequiredService<BatchScheduler>(), sp.GetRequiredService<DecodeLimits>(), sp.GetRequiredService<IOptions<PipelineOptions>>(),
            sp.GetRequiredService<OnnxSessionFactory>(), sp.GetRequiredService<ModelCard>(), sp.GetRequiredService<ServingMetrics>()));
        services.AddSingleton(sp => sp.GetRequiredService<PipelineFactory>().Create(sp.GetRequiredService<IFaceDetector>()));
        return services;
    }
}
