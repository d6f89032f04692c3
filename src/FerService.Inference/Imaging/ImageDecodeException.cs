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

public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(ImageErrorKind kind, string message) : base(message) => Kind = kind;

    public ImageDecodeException() : this(ImageErrorKind.Corrupt, "The image could not be decoded.") { }

    public ImageDecodeException(string message) : this(ImageErrorKind.Corrupt, message) { }

    public ImageDecodeException(string message, Exception innerException) : base(message, innerException) => Kind = ImageErrorKind.Corrupt;

    public ImageErrorKind Kind { get; }
}
