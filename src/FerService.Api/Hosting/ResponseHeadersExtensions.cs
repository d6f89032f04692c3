using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.StaticFiles;

namespace FerService.Api.Hosting;

/// <summary>No Server header, X-Content-Type-Options: nosniff on every response, and a Content-Security-Policy for the page.</summary>
public static class ResponseHeadersExtensions
{
    /// <summary>
    /// The page's own script, styles and icons only; uploaded pictures and videos shown from blob: URLs; fetch and the
    /// stream WebSocket to this origin only; never framed.
    /// </summary>
    public const string PagePolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self' blob:; "
        + "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    public static IHostApplicationBuilder AddFerResponseHeaders(this IHostApplicationBuilder builder)
    {
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        return builder;
    }

    /// <summary>Set as the response starts, so error pages written after the exception handler cleared the headers keep it too.</summary>
    public static WebApplication UseFerResponseHeaders(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                ((HttpResponse)state).Headers.XContentTypeOptions = "nosniff";
                return Task.CompletedTask;
            }, context.Response);
            return next(context);
        });
        return app;
    }

    /// <summary>For the static files of wwwroot: the page and what it loads.</summary>
    public static void ApplyPagePolicy(StaticFileResponseContext file) => file.Context.Response.Headers.ContentSecurityPolicy = PagePolicy;
}
