using FerService.Api.Analysis;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Events;

namespace FerService.Api.Hosting;

public static class ApiExtensions
{
    /// <summary>Serilog (one event per request, never bodies), problem+json, Swagger, the body limits, and no removed settings.</summary>
    public static IHostApplicationBuilder AddFerApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddRemovedSettingsCheck();
        builder.Services.AddSerilog((services, logger) => logger
            .ReadFrom.Configuration(services.GetRequiredService<IConfiguration>())
            .Enrich.FromLogContext()
            .WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture),
            // The host's own logger, not the process-wide static one: each host (and test server) logs to its own sinks.
            preserveStaticLogger: true);

        builder.Services.AddProblemDetails();
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(options =>
        {
            options.SwaggerDoc("v1", new()
            {
                Title = "FerService",
                Version = "v1",
                Description = "Facial expression recognition: faces, landmarks and 7 emotion probabilities per image.",
            });
            options.OperationFilter<UploadBodyFilter>();
            options.OperationFilter<QueryOptionsFilter>();
            var xml = Path.Combine(AppContext.BaseDirectory, "FerService.Api.xml");
            if (File.Exists(xml))
            {
                options.IncludeXmlComments(xml);
            }
        });

        // The body limit comes from Fer:Limits so Kestrel and the endpoint's multipart reader agree.
        builder.Services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>()
            .Configure<IOptions<LimitsOptions>>((kestrel, limits) => kestrel.Limits.MaxRequestBodySize = limits.Value.MaxRequestBytes);
        return builder;
    }

    /// <summary>
    /// Error only for the server's own faults. A 503 sheds load as designed (<see cref="LoadShedding"/> reports those as a
    /// sampled warning), so each is Debug; a 504 is the deadline doing its job under load, a warning.
    /// </summary>
    internal static LogEventLevel RequestLogLevel(HttpContext context, double elapsedMs, Exception? exception) => context.Response.StatusCode switch
    {
        _ when exception is not null => LogEventLevel.Error,
        StatusCodes.Status503ServiceUnavailable => LogEventLevel.Debug,
        StatusCodes.Status504GatewayTimeout => LogEventLevel.Warning,
        >= 500 => LogEventLevel.Error,
        _ => LogEventLevel.Information,
    };

    /// <summary>
    /// The <c>/api</c> route group every feature maps its endpoints into, with what they share declared once: the OpenAPI
    /// tag and access control (API keys, per-client rate limit). Each feature adds its own conventions on a group inside it.
    /// </summary>
    public static RouteGroupBuilder MapFerApi(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api").WithTags("Emotions").WithAccessControl();

    public static WebApplication UseFerApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSerilogRequestLogging(options =>
        {
            options.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            options.GetLevel = RequestLogLevel;
            // The client's address: behind a trusted proxy, the one it forwarded (see ProxyExtensions).
            options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms from {ClientAddress}";
            options.EnrichDiagnosticContext = (diagnostics, context) => diagnostics.Set("ClientAddress", context.Connection.RemoteIpAddress?.ToString());
        });
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions { OnPrepareResponse = ResponseHeadersExtensions.ApplyPagePolicy });
        app.UseSwagger();
        app.UseSwaggerUI(options =>
        {
            // Relative to the UI's own address, so it also works under a path prefix.
            options.SwaggerEndpoint("v1/swagger.json", "FerService v1");
            options.RoutePrefix = "swagger";
        });
        return app;
    }
}
