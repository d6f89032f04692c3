using Microsoft.AspNetCore.Http.HttpResults;
using FerService.Api.Analysis;
using FerService.Serving;
using FerService.Serving.Video;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FerService.Api.Health;

public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IHostApplicationBuilder AddFerHealth(this IHostApplicationBuilder builder)
    {
        // Ready once a warm-up inference ran (WarmupService), not ready again once shutdown begins.
        builder.Services.AddSingleton<ReadinessState>();
        builder.Services.AddHostedService<WarmupService>();
        builder.Services.AddHealthChecks().AddCheck<ModelReadinessCheck>("models", tags: [ReadyTag]);
        return builder;
    }

    /// <summary><c>/health/live</c>: the process answers. <c>/health/ready</c>: models loaded, warmed up, not shutting down.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        var health = app.MapGroup("/health").WithTags("Health");
        health.MapGet("/live", Live)
            .WithName("Live")
            .WithSummary("Liveness: 200 while the process serves requests");
        health.MapGet("/ready", ReadyAsync)
            .WithName("Ready")
            .WithSummary("Readiness: 200 once both models are loaded and a warm-up inference ran, 503 before that and during shutdown; reports the execution provider")
            .Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    internal static Ok<HealthResponse> Live() => TypedResults.Ok(new HealthResponse("Healthy", new Dictionary<string, HealthEntry>()));

    internal static async Task<Results<Ok<HealthResponse>, JsonHttpResult<HealthResponse>>> ReadyAsync(HealthCheckService checks, CancellationToken cancellationToken)
    {
        var report = await checks.CheckHealthAsync(c => c.Tags.Contains(ReadyTag), cancellationToken);
        var entries = new Dictionary<string, HealthEntry>();
        foreach (var (name, entry) in report.Entries)
        {
            entries[name] = new HealthEntry(entry.Status.ToString(), entry.Description, entry.Data);
        }
        var body = new HealthResponse(report.Status.ToString(), entries);
        return report.Status == HealthStatus.Healthy
            ? TypedResults.Ok(body)
            : TypedResults.Json(body, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    private sealed class ModelReadinessCheck(ReadinessState readiness, EmotionPipeline pipeline, VideoAnalyzer video) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            // Video is optional: without ffmpeg the service is ready and says video analysis is not available.
            var data = new Dictionary<string, object> { ["executionProvider"] = pipeline.ExecutionProvider, ["video"] = video.IsAvailable };
            return Task.FromResult(readiness.IsReady
                ? HealthCheckResult.Healthy("Models loaded and warmed up", data)
                : HealthCheckResult.Unhealthy($"Not ready: {readiness.NotReadyReason}", data: data));
        }
    }
}
