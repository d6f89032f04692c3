using System.ComponentModel.DataAnnotations;

namespace FerService.Api.Hosting;

/// <summary>Section <c>Fer:Cors</c>: which web pages on other origins may call the API from a browser. Off by default.</summary>
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

    private static bool IsOrigin(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.Equals(uri.GetLeftPart(UriPartial.Authority), value, StringComparison.OrdinalIgnoreCase);
}
