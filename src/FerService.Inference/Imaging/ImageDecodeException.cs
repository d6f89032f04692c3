namespace FerService.Inference.Imaging;

public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(ImageErrorKind kind, string message) : base(message) => Kind = kind;

    public ImageDecodeException() : this(ImageErrorKind.Corrupt, "The image could not be decoded.") { }

    public ImageDecodeException(string message) : this(ImageErrorKind.Corrupt, message) { }

    public ImageDecodeException(string message, Exception innerException) : base(message, innerException) => Kind = ImageErrorKind.Corrupt;

    public ImageErrorKind Kind { get; }
}
