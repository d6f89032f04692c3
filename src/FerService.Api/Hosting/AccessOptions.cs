using System.ComponentModel.DataAnnotations;

namespace FerService.Api.Hosting;

/// <summary>Section <c>Fer:Access</c>: optional API keys and a per-client request rate. Both off by default.</summary>
public sealed class AccessOptions
{
    public const string Section = "Fer:Access";

    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>When not empty, every /api request needs one of these in the X-Api-Key header.</summary>
    public IReadOnlyList<string> ApiKeys { get; set; } = [];

    /// <summary>
    /// Requests per minute per API key (or per client address without keys); 0 is unlimited. A client may send a minute's
    /// worth at once (a token bucket that size, refilled every minute).
    /// </summary>
    [Range(0, 1_000_000)]
    public int RequestsPerMinute { get; set; }
}
