using System.Diagnostics;
using FerService.Serving;
using OpenTelemetry.Metrics;

namespace FerService.Api.Hosting;

public static class TelemetryExtensions
{
    /// <summary>
    /// Metrics of ASP.NET Core (request counts by status, latency), Kestrel, the pipeline, the API and the .NET runtime
    /// (GC heap and collections, working set, thread pool: what tells a managed leak from native growth), for Prometheus.
    /// </summary>
    public static IHostApplicationBuilder AddFerTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ApiMetrics>();
        // A listener makes ASP.NET Core start an Activity per request, continuing the caller's W3C traceparent.
        builder.Services.AddSingleton(_ =>
        {
            var listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Microsoft.AspNetCore",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            };
            ActivitySource.AddActivityListener(listener);
            return listener;
        });
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(PipelineServices.MeterName, ApiMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            .AddPrometheusExporter());
        return builder;
    }

    /// <summary>Echoes the request's trace id (the caller's, when it sent a W3C traceparent) as X-Request-Id.</summary>
    public static WebApplication UseFerRequestId(this WebApplication app)
    {
        app.Services.GetRequiredService<ActivityListener>();
        app.Use((context, next) =>
        {
            context.Response.Headers[RequestIdHeader] = Activity.Current?.TraceId.ToHexString() ?? context.TraceIdentifier;
            return next(context);
        });
        return app;
    }

    public const string RequestIdHeader = "X-Request-Id";

    /// <summary><c>GET /metrics</c> in Prometheus text format.</summary>
    public static WebApplication MapFerMetrics(this WebApplication app)
    {
        // Created now, not on the first request, so the provider gauge is there from the first scrape.
        app.Services.GetRequiredService<ApiMetrics>();
        app.MapPrometheusScrapingEndpoint("/metrics").WithTags("Health");
        return app;
    }
}
