using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;

namespace FerService.Api.Hosting;

/// <summary>
/// CORS for pages on the configured origins: preflights answered, GET and POST with any request header, and
/// Retry-After and X-Request-Id readable by their scripts. Without allowed origins nothing is added.
/// </summary>
public static class CrossOriginExtensions
{
    public static IHostApplicationBuilder AddFerCors(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<CrossOriginOptions>().BindConfiguration(CrossOriginOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddCors();
        builder.Services.AddOptions<CorsOptions>().Configure<IOptions<CrossOriginOptions>>((cors, crossOrigin) =>
        {
            var origins = crossOrigin.Value.AllowedOrigins;
            cors.AddDefaultPolicy(policy =>
            {
                if (origins.Contains("*"))
                {
                    policy.AllowAnyOrigin();
                }
                else
                {
                    policy.WithOrigins([.. origins]);
                }
                policy.WithMethods(HttpMethods.Get, HttpMethods.Post)
                    .AllowAnyHeader()
                    .WithExposedHeaders("Retry-After", TelemetryExtensions.RequestIdHeader)
                    // A changed origin list reaches browsers within ten minutes, for one preflight per page every ten.
                    .SetPreflightMaxAge(TimeSpan.FromMinutes(10));
            });
        });
        return builder;
    }

    /// <summary>
    /// After routing and before the API key, rate and concurrency checks, so a preflight needs no key and their refusals
    /// (401, 429, 503) still carry the CORS headers a script needs to read them.
    /// </summary>
    public static WebApplication UseFerCors(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<CrossOriginOptions>>().Value.AllowedOrigins.Count > 0)
        {
            app.UseCors();
        }
        return app;
    }
}
