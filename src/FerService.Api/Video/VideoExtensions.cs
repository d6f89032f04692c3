using FerService.Serving;
using FerService.Serving.Video;
using Microsoft.Extensions.Options;

namespace FerService.Api.Video;

public static class VideoExtensions
{
    /// <summary>Video files: options, ffmpeg located once at start-up, and the analyzer over the service's pipeline.</summary>
    public static IHostApplicationBuilder AddFerVideo(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<VideoOptions>().BindConfiguration(VideoOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<VideoFiles>();
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<VideoOptions>>().Value;
            return new VideoAnalyzer(sp.GetRequiredService<EmotionPipeline>(), options.FfmpegPath, options.FfprobePath);
        });
        return builder;
    }
}
