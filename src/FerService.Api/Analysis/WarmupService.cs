using FerService.Inference.Detection;
using FerService.Inference.Pipeline;
using FerService.Serving;
using SkiaSharp;

namespace FerService.Api.Analysis;

/// <summary>
/// Loads both models (resolving the singletons) and runs one image through the whole pipeline before
/// readiness turns on, so the first real request does not pay for session initialisation.
/// </summary>
internal sealed partial class WarmupService(EmotionPipeline pipeline, ReadinessState readiness, IHostApplicationLifetime lifetime,
    ILogger<WarmupService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lifetime.ApplicationStopping.Register(() => readiness.MarkNotReady("shutting down"));
        await Task.Yield();
        var started = TimeProvider.System.GetTimestamp();
        var sample = WarmupImage();
        await pipeline.AnalyzeAsync(sample, new AnalysisRequest(true, new DetectionRequest(0.5f, 1, 0)), stoppingToken).ConfigureAwait(false);
        await pipeline.AnalyzeAsync(sample, new AnalysisRequest(false, new DetectionRequest(0.5f, 1, 0)), stoppingToken).ConfigureAwait(false);
        readiness.MarkReady();
        var elapsed = TimeProvider.System.GetElapsedTime(started);
        LogReady(logger, elapsed.TotalMilliseconds);
    }

    private static byte[] WarmupImage()
    {
        using var bitmap = new SKBitmap(64, 64);
        bitmap.Erase(SKColors.Gray);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Models loaded and warmed up in {ElapsedMs:F0} ms; ready")]
    private static partial void LogReady(ILogger logger, double elapsedMs);
}
