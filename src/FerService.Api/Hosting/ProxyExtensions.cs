using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace FerService.Api.Hosting;

/// <summary>
/// Behind a reverse proxy: the client's address, scheme and path prefix from the forwarded headers of trusted proxies
/// only, so the per-client rate and the request log see the client, not the proxy; a configured prefix.
/// </summary>
public static class ProxyExtensions
{
    public static IHostApplicationBuilder AddFerProxy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ProxyOptions>().BindConfiguration(ProxyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ProxyOptions>>((forwarded, proxy) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedPrefix;
            // No fixed count: entries are taken from the right for as long as they name a trusted proxy.
            forwarded.ForwardLimit = null;
            // The defaults trust loopback; only the configured networks are trusted here.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in proxy.Value.TrustedNetworks)
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
        return builder;
    }

    /// <summary>First in the pipeline; routing runs after it, so routes match below the prefix.</summary>
    public static WebApplication UseFerProxy(this WebApplication app)
    {
        var proxy = app.Services.GetRequiredService<IOptions<ProxyOptions>>().Value;
        // With no known network the middleware would believe every sender, so without trusted proxies it stays out.
        if (proxy.TrustedNetworks.Count > 0)
        {
            app.UseForwardedHeaders();
        }
        if (proxy.PathBase.Length > 0)
        {
            app.UsePathBase(proxy.PathBase);
        }
        app.UseRouting();
        return app;
    }
}
