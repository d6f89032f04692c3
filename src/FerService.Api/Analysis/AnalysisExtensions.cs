using FerService.Api.Health;
using FerService.Api.Emotions;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.Extensions.Options;

namespace FerService.Api.Analysis;

public static class AnalysisExtensions
{
    /// <summary>The pipeline, its options bound to configuration and validated at start-up, and the image limits.</summary>
    public static IHostApplicationBuilder AddFerAnalysis(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var limits = sp.GetRequiredService<IOptions<LimitsOptions>>().Value;
            // The side limit is fixed: it stops 1×N shapes that pass the pixel limit, not something to trade.
            return new DecodeLimits(limits.MaxPixelsPerImage, DecodeLimits.Default.MaxSide);
        });
        services.AddEmotionPipeline();
        services.AddOptions<OnnxOptions>().BindConfiguration(OnnxOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DetectionOptions>().BindConfiguration(DetectionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BatchingOptions>().BindConfiguration(BatchingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<FerModelOptions>().BindConfiguration(FerModelOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }
}
