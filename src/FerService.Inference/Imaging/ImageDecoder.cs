using SkiaSharp;

namespace FerService.Inference.Imaging;

/// <summary>Limits checked against the image header before any pixel memory is allocated.</summary>
public sealed record DecodeLimits(long MaxPixels, int MaxSide)
{
    public static readonly DecodeLimits Default = new(40_000_000, 16_384);
}

public interface IImageDecoder
{
    /// <summary>Decodes the first frame to RGBA in displayed orientation.</summary>
    /// <exception cref="ImageDecodeException">Unsupported format (415), corrupt data (422) or over the limits (413).</exception>
    RgbaImage Decode(ReadOnlySpan<byte> data, DecodeLimits limits);
}

/// <summary>SkiaSharp decoder: format from magic bytes, header dimensions checked first, EXIF orientation applied.</summary>
public sealed class SkiaImageDecoder : IImageDecoder
{
    public unsafe RgbaImage Decode(ReadOnlySpan<byte> data, DecodeLimits limits)
    {
        var format = ImageFormatSniffer.Detect(data);
        if (format == ImageFormat.Unknown)
        {
            throw new ImageDecodeException(ImageErrorKind.UnsupportedFormat, "Not a supported image format (JPEG, PNG, WebP, BMP or GIF).");
        }

        fixed (byte* bytes = data)
        {
            using var encoded = SKData.Create((nint)bytes, data.Length);
            using var stream = new SKMemoryStream(encoded);
            using var codec = SKCodec.Create(stream, out var result)
                ?? throw new ImageDecodeException(ImageErrorKind.Corrupt, $"The {format} header could not be read ({result}).");
            var width = codec.Info.Width;
            var height = codec.Info.Height;
            if (width <= 0 || height <= 0)
            {
                throw new ImageDecodeException(ImageErrorKind.Corrupt, $"The {format} image declares no pixels.");
            }
            if (width > limits.MaxSide || height > limits.MaxSide || (long)width * height > limits.MaxPixels)
            {
                throw new ImageDecodeException(ImageErrorKind.TooLarge,
                    $"The image is {width}×{height} pixels; the limit is {limits.MaxPixels:N0} pixels and {limits.MaxSide:N0} per side.");
            }

            var stored = new RgbaImage(width, height);
            try
            {
                var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                // Frame 0 only: animated GIF/WebP cost one frame, however many they hold.
                var status = codec.GetPixels(info, stored.Address, stored.RowBytes, new SKCodecOptions(0));
                if (status != SKCodecResult.Success)
                {
                    throw new ImageDecodeException(ImageErrorKind.Corrupt, $"The {format} data is corrupt or truncated ({status}).");
                }
                var orientation = (ExifOrientation)codec.EncodedOrigin;
                if (orientation is ExifOrientation.TopLeft || !Enum.IsDefined(orientation))
                {
                    return stored;
                }
                using (stored)
                {
                    return Orientation.ToDisplayed(stored, orientation);
                }
            }
            catch
            {
                stored.Dispose();
                throw;
            }
        }
    }
}
