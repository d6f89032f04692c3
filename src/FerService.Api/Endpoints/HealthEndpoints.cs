using System.Text.Json;
using FerService.Api.Inference;
using FerService.Inference.Onnx;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace FerService.Api.Endpoints;

public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IHostApplicationBuilder AddFerHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddHealthChecks().AddCheck<ModelReadinessCheck>("models", tags: [ReadyTag]);
        return builder;
    }

    /// <summary><c>/health/live</c>: the process answers. <c>/health/ready</c>: models loaded, warmed up, not shutting down.</summary>
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync })
            .WithTags("Health").WithSummary("Liveness: 200 while the process serves requests");
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync })
            .WithTags("Health").WithSummary("Readiness: 200 once both models are loaded and warmed up, 503 before and during shutdown");
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var entries = new Dictionary<string, object?>();
        foreach (var (name, entry) in report.Entries)
        {
            entries[name] = new { status = entry.Status.ToString(), description = entry.Description, data = entry.Data };
        }
        return context.Response.WriteAsync(JsonSerializer.Serialize(new { status = report.Status.ToString(), checks = entries }, JsonSerializerOptions.Web));
    }

    private sealed class ModelReadinessCheck(ReadinessState readiness, OnnxSessionFactory sessions) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var data = new Dictionary<string, object> { ["executionProvider"] = sessions.ActiveProvider };
            return Task.FromResult(readiness.IsReady
                ? HealthCheckResult.Healthy("Models loaded and warmed up", data)
                : HealthCheckResult.Unhealthy($"Not ready: {readiness.NotReadyReason}", data: data));
        }
    }
}
