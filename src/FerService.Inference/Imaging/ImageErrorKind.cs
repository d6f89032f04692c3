namespace FerService.Inference.Imaging;

public enum ImageErrorKind
{
    /// <summary>Not a format we decode (HTTP 415).</summary>
    UnsupportedFormat,
    /// <summary>A known format whose data is corrupt or truncated (HTTP 422).</summary>
    Corrupt,
    /// <summary>Declared dimensions exceed the configured limits (HTTP 413).</summary>
    TooLarge,
}
