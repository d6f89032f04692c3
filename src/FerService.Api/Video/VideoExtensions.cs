using FerService.Serving;
using FerService.Serving.Video;
using Microsoft.Extensions.Options;

namespace FerService.Api.Video;

public static class VideoExtensions
{
    /// <summary>
    /// Video files: options, ffmpeg located once at start-up, the analyzer over the service's pipeline (each decoder under its
    /// memory ceiling), where uploads are stored, and how many are decoded at once.
    /// </summary>
    public static IHostApplicationBuilder AddFerVideo(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<VideoOptions>().BindConfiguration(VideoOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<VideoFiles>();
        builder.Services.AddSingleton<VideoDecoders>();
        builder.Services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<VideoOptions>>().Value;
            return new VideoAnalyzer(sp.GetRequiredService<EmotionPipeline>(), options.FfmpegPath, options.FfprobePath,
                options.DecoderMemoryLimitMiB * 1048576L);
        });
        return builder;
    }
}
