using System.Threading.RateLimiting;
using FerService.Api.Errors;
using FerService.Api.Analysis;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace FerService.Api.Hosting;

/// <summary>
/// Bounded concurrency and a deadline for /api: beyond <c>MaxConcurrentRequests</c> running and
/// <c>MaxQueuedRequests</c> waiting, requests get 503 with Retry-After; past <c>RequestTimeout</c>, 504.
/// Health and metrics are outside the policy, so probes answer under load. On shutdown, in-flight requests get
/// <c>ShutdownTimeout</c> to finish.
/// </summary>
public static class BackpressureExtensions
{
    public const string Policy = "inference";

    public static IHostApplicationBuilder AddFerBackpressure(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<LoadShedding>();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<LimitsOptions>>((options, limits) =>
        {
            var value = limits.Value;
            options.AddConcurrencyLimiter(Policy, concurrency =>
            {
                concurrency.PermitLimit = value.ConcurrentRequests;
                concurrency.QueueLimit = value.QueuedRequests;
                concurrency.QueueProcessingOrder = QueueProcessingOrder.OldestFirst;
            });
            // The default rejection is a bare 503; clients get a problem and a retry hint instead.
            options.RejectionStatusCode = StatusCodes.Status503ServiceUnavailable;
            options.OnRejected = (context, cancellationToken) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "1";
                context.HttpContext.RequestServices.GetRequiredService<LoadShedding>().Refused("the concurrency limit and its queue were full");
                return new ValueTask(Problems.Result(Problems.Overloaded(
                    $"More than {value.ConcurrentRequests} requests are running and {value.QueuedRequests} waiting; retry after a second."))
                    .ExecuteAsync(context.HttpContext));
            };
        });
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<LimitsOptions>>((host, limits) => host.ShutdownTimeout = limits.Value.ShutdownTimeout);
        builder.Services.AddRequestTimeouts(_ => { });
        builder.Services.AddOptions<RequestTimeoutOptions>().Configure<IOptions<LimitsOptions>>((options, limits) =>
            options.AddPolicy(Policy, new RequestTimeoutPolicy
            {
                Timeout = limits.Value.RequestTimeout,
                TimeoutStatusCode = StatusCodes.Status504GatewayTimeout,
                WriteTimeoutResponse = context => Problems.Result(Problems.Create(StatusCodes.Status504GatewayTimeout, "Timed out",
                    $"The request took longer than {limits.Value.RequestTimeout.TotalSeconds:0.###} s and was cancelled.")).ExecuteAsync(context),
            }));
        return builder;
    }

    public static WebApplication UseFerBackpressure(this WebApplication app)
    {
        app.UseRateLimiter();
        app.UseRequestTimeouts();
        return app;
    }

    /// <summary>Puts a route group under the concurrency limit and the deadline.</summary>
    public static RouteGroupBuilder WithBackpressure(this RouteGroupBuilder group)
    {
        group.RequireRateLimiting(Policy);
        group.WithRequestTimeout(Policy);
        return group;
    }
}
