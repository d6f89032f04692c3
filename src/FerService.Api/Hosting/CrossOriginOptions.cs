using System.ComponentModel.DataAnnotations;

namespace FerService.Api.Hosting;

/// <summary>
/// Section <c>Fer:Cors</c>: which web pages on other origins may call the API from a browser, and open the stream
/// WebSocket. Off by default.
/// </summary>
public sealed class CrossOriginOptions : IValidatableObject
{
    public const string Section = "Fer:Cors";

    /// <summary>Origins (<c>https://app.example.org</c>: scheme, host and port, no path) whose scripts may call the API; <c>*</c> allows any. Empty is off.</summary>
    public IReadOnlyList<string> AllowedOrigins { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var origin in AllowedOrigins)
        {
            if (origin != "*" && !IsOrigin(origin))
            {
                yield return new ValidationResult(
                    $"'{origin}' is not an origin: write scheme, host and port only, like https://app.example.org or http://localhost:8080 (no path, no trailing slash), or *.",
                    [nameof(AllowedOrigins)]);
            }
        }
    }

    /// <summary>
    /// Whether a WebSocket upgrade may proceed. Browsers apply no CORS to WebSockets but always send Origin, so without
    /// this check any site's page could open the stream from its visitor's browser (cross-site WebSocket hijacking).
    /// Allowed: no Origin (clients that are not browsers), the request's own scheme and host (the page itself, also behind
    /// a trusted proxy once its X-Forwarded-Proto is applied), or an allowed origin.
    /// </summary>
    public bool AllowsWebSocketFrom(HttpRequest request)
    {
        var origin = request.Headers.Origin;
        if (origin.Count == 0)
        {
            return true;
        }
        if (origin.Count > 1 || !Uri.TryCreate(origin.ToString(), UriKind.Absolute, out var from))
        {
            return false;   // "null" (a sandboxed or file: page) or garbage: nothing to trust
        }
        if (Uri.TryCreate($"{request.Scheme}://{request.Host.ToUriComponent()}", UriKind.Absolute, out var own) && SameOrigin(from, own))
        {
            return true;
        }
        foreach (var allowed in AllowedOrigins)
        {
            if (allowed == "*" || SameOrigin(from, new Uri(allowed)))
            {
                return true;
            }
        }
        return false;
    }

    // Uri fills in the scheme's default port, so http://host and http://host:80 are one origin.
    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)
        && string.Equals(a.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase)
        && a.Port == b.Port;

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.Equals(uri.GetLeftPart(UriPartial.Authority), value, StringComparison.OrdinalIgnoreCase);
}
