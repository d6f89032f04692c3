using System.ComponentModel.DataAnnotations;
using System.Net;

namespace FerService.Api.Hosting;

/// <summary>
/// Section <c>Fer:Proxy</c>: the reverse proxies whose X-Forwarded-For, -Proto and -Prefix headers are believed (none by
/// default), and the path prefix the service is reached under.
/// </summary>
public sealed class ProxyOptions : IValidatableObject
{
    public const string Section = "Fer:Proxy";

    /// <summary>
    /// Networks of trusted proxies in CIDR notation (<c>10.0.0.0/8</c>, <c>127.0.0.1/32</c>); empty trusts no one. X-Forwarded-For
    /// is read from the right while its addresses are trusted proxies: the first one that is not is the client.
    /// </summary>
    public IReadOnlyList<string> TrustedNetworks { get; set; } = [];

    /// <summary>A prefix like <c>/fer</c> the service is reached under when the proxy passes it on; empty is none.</summary>
    public string PathBase { get; set; } = "";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var network in TrustedNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                yield return new ValidationResult($"'{network}' is not a network in CIDR notation, like 10.0.0.0/8 or 127.0.0.1/32.", [nameof(TrustedNetworks)]);
            }
        }
        if (PathBase.Length > 0 && (PathBase[0] != '/' || PathBase.EndsWith('/') || PathBase.Contains('?', StringComparison.Ordinal)))
        {
            yield return new ValidationResult($"'{PathBase}' is not a path prefix: it starts with / and does not end with one, like /fer.", [nameof(PathBase)]);
        }
    }
}
