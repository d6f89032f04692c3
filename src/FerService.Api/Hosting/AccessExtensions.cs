using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using FerService.Api.Errors;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace FerService.Api.Hosting;

/// <summary>API-key check (constant time) and a token bucket per key for the /api group; health and metrics stay open.</summary>
internal sealed class AccessFilter : IDisposable
{
    private readonly byte[][] _keyHashes;
    private readonly PartitionedRateLimiter<string>? _limiter;

    public AccessFilter(IOptions<AccessOptions> options)
    {
        var access = options.Value;
        _keyHashes = [.. access.ApiKeys.Where(k => k.Length > 0).Select(k => SHA256.HashData(Encoding.UTF8.GetBytes(k)))];
        if (access.RequestsPerMinute > 0)
        {
            _limiter = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = access.RequestsPerMinute,
                TokensPerPeriod = access.RequestsPerMinute,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        }
    }

    /// <summary>The 401 or 429 for this request, or null when it may go on.</summary>
    public ProblemHttpResult? Check(HttpContext http)
    {
        string? key = http.Request.Headers[AccessOptions.ApiKeyHeader];
        if (_keyHashes.Length > 0 && !IsKnown(key))
        {
            http.Response.Headers.WWWAuthenticate = "ApiKey header=\"" + AccessOptions.ApiKeyHeader + "\"";
            return Problems.Result(Problems.Create(StatusCodes.Status401Unauthorized, "Unauthorized",
                $"Send a valid API key in the {AccessOptions.ApiKeyHeader} header."));
        }
        if (_limiter is not null)
        {
            var client = _keyHashes.Length > 0 ? "key:" + key : "ip:" + http.Connection.RemoteIpAddress;
            using var lease = _limiter.AttemptAcquire(client);
            if (!lease.IsAcquired)
            {
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 60;
                http.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
                return Problems.Result(Problems.Create(StatusCodes.Status429TooManyRequests, "Too many requests",
                    $"The request rate for this client is exceeded; retry after {retryAfter} s."));
            }
        }
        return null;
    }

    /// <summary>Compares hashes in constant time, so neither the key nor its length leaks through timing.</summary>
    private bool IsKnown(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        var known = false;
        foreach (var candidate in _keyHashes)
        {
            known |= CryptographicOperations.FixedTimeEquals(hash, candidate);
        }
        return known;
    }

    public void Dispose() => _limiter?.Dispose();
}

public static class AccessExtensions
{
    public static IHostApplicationBuilder AddFerAccess(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<AccessFilter>();
        return builder;
    }

    /// <summary>Marks a route group for <see cref="UseFerAccess"/>.</summary>
    private sealed class AccessControlMetadata;

    /// <summary>Puts a route group behind the API keys and the per-client rate, when configured.</summary>
    public static RouteGroupBuilder WithAccessControl(this RouteGroupBuilder group) => group.WithMetadata(new AccessControlMetadata());

    /// <summary>
    /// Before the upload reader and the concurrency limit: a request without a valid key, or over its client's rate, is
    /// refused before its body is read or it takes a slot.
    /// </summary>
    public static WebApplication UseFerAccess(this WebApplication app)
    {
        var access = app.Services.GetRequiredService<AccessFilter>();
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<AccessControlMetadata>() is not null && access.Check(context) is { } refused)
            {
                await refused.ExecuteAsync(context);
                return;
            }
            await next(context);
        });
        return app;
    }
}
