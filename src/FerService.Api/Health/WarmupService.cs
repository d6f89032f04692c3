using FerService.Inference.Detection;
using FerService.Inference.Pipeline;
using FerService.Serving;
using SkiaSharp;

namespace FerService.Api.Health;

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
        try
        {
            await pipeline.AnalyzeAsync(sample, new AnalysisRequest(true, new DetectionRequest(0.5f, 1, 0)), stoppingToken).ConfigureAwait(false);
            await pipeline.AnalyzeAsync(sample, new AnalysisRequest(false, new DetectionRequest(0.5f, 1, 0)), stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A model that loads but cannot run (an unexpected output shape): the same single fatal line and exit code 1
            // as a start-up failure (StartupExtensions), not a background-service error with its stack trace.
            LogWarmupFailed(logger, e.Message);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
            return;
        }
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

    [LoggerMessage(Level = LogLevel.Critical, Message = "Warm-up failed, exiting with code 1: {Reason}")]
    private static partial void LogWarmupFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Models loaded and warmed up in {ElapsedMs:F0} ms; ready")]
    private static partial void LogReady(ILogger logger, double elapsedMs);
}
