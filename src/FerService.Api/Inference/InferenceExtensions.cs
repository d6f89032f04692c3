using FerService.Inference.Alignment;
using FerService.Inference.Annotation;
using FerService.Inference.Batching;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using Microsoft.Extensions.Options;

namespace FerService.Api.Inference;

public static class InferenceExtensions
{
    /// <summary>Options, models (created once, shared, disposed by the host), the batch worker and warm-up.</summary>
    public static IHostApplicationBuilder AddFerInference(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<OnnxOptions>().BindConfiguration(OnnxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DetectionOptions>().BindConfiguration(DetectionOptions.Section)
            .PostConfigure(options => options.ModelPath = FerModelOptions.Resolve(options.ModelPath))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BatchingOptions>().BindConfiguration(BatchingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<FerModelOptions>().BindConfiguration(FerModelOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AnnotationOptions>().BindConfiguration(AnnotationOptions.Section);
        services.AddSingleton(sp => new FaceAnnotator(sp.GetRequiredService<IOptions<AnnotationOptions>>().Value.FontPath));
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();

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
        services.AddSingleton<ReadinessState>();
        services.AddHostedService<WarmupService>();
        return builder;
    }
}

/// <summary>Builds pipelines that share the decoder, aligner and batch scheduler (one classifier queue) around a given detector.</summary>
public sealed class PipelineFactory(IServiceProvider services)
{
    public EmotionPipeline Create(IFaceDetector detector)
    {
        var limits = services.GetRequiredService<IOptions<LimitsOptions>>().Value;
        return new EmotionPipeline(services.GetRequiredService<IImageDecoder>(), detector,
            services.GetRequiredService<FaceAligner>(), services.GetRequiredService<BatchScheduler>(),
            new DecodeLimits(limits.MaxPixelsPerImage, limits.MaxImageSide),
            services.GetRequiredService<IOptions<PipelineOptions>>().Value);
    }
}
