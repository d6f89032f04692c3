using FerService.Inference.Detection;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.Extensions.Options;

namespace FerService.Api.Streaming;

/// <summary>Registers the video WebSocket's options, connection count and pipeline; <c>MapStreamEndpoints</c> maps it.</summary>
public static class StreamExtensions
{
    public const string PipelineKey = "stream";

    public static IHostApplicationBuilder AddFerStream(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StreamOptions>().BindConfiguration(StreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<StreamConnections>();
        // The stream's own detector, when configured (a keyed singleton, so the container disposes it).
        builder.Services.AddKeyedSingleton(PipelineKey, (sp, _) =>
        {
            var detection = sp.GetRequiredService<IOptions<DetectionOptions>>().Value;
            return new BlazeFaceDetector(sp.GetRequiredService<FerService.Inference.Onnx.OnnxSessionFactory>(), new DetectionOptions
            {
                ModelPath = FerModelOptions.Resolve(sp.GetRequiredService<IOptions<StreamOptions>>().Value.DetectorModelPath!),
                MinScore = detection.MinScore,
                IouThreshold = detection.IouThreshold,
                BoxScale = detection.BoxScale,
                BoxShift = detection.BoxShift,
                Tiling = false,
            });
        });
        // The stream's pipeline: the service's, or the same stages around the stream's own detector.
        builder.Services.AddKeyedSingleton(PipelineKey, (sp, _) =>
            string.IsNullOrEmpty(sp.GetRequiredService<IOptions<StreamOptions>>().Value.DetectorModelPath)
                ? sp.GetRequiredService<EmotionPipeline>()
                : sp.GetRequiredService<PipelineFactory>().Create(sp.GetRequiredKeyedService<BlazeFaceDetector>(PipelineKey)));
        return builder;
    }
}
