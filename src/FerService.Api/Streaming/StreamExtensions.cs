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
        // The stream's pipeline: the service's, or the same stages around the stream's own detector (the factory disposes it).
        builder.Services.AddKeyedSingleton(PipelineKey, (sp, _) =>
        {
            var side = sp.GetRequiredService<IOptions<StreamOptions>>().Value.DetectorMaxInputSide;
            var detection = sp.GetRequiredService<IOptions<DetectionOptions>>().Value;
            if (side == 0 || side == detection.MaxInputSide)
            {
                return sp.GetRequiredService<EmotionPipeline>();
            }
            return sp.GetRequiredService<PipelineFactory>().Create(detection.WithMaxInputSide(side));
        });
        return builder;
    }

    /// <summary>WebSocket upgrades for the stream endpoint (<c>MapStreamEndpoints</c>).</summary>
    public static WebApplication UseFerStream(this WebApplication app)
    {
        app.UseWebSockets();
        return app;
    }
}
