using SkiaSharp;

namespace FerService.Inference.Imaging;

/// <summary>
/// SkiaSharp decoder: format from magic bytes, header dimensions checked first, EXIF orientation applied. JPEG pixels come
/// from the system's TurboJPEG where it is installed (<see cref="TurboJpeg"/>), the same bytes faster.
/// </summary>
internal sealed class SkiaImageDecoder(bool turboJpeg = true) : IImageDecoder
{
    public unsafe RgbaImage Decode(ReadOnlySpan<byte> data, DecodeLimits limits, int minLongSide = 0)
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

            var (decodedWidth, decodedHeight) = ScaledSize(codec, width, height, minLongSide);
            var stored = new RgbaImage(decodedWidth, decodedHeight) { SourceWidth = width, SourceHeight = height };
            try
            {
                if (format != ImageFormat.Jpeg || !turboJpeg || !TurboJpeg.TryDecode(data, stored.Pixels, decodedWidth, decodedHeight, stored.RowBytes))
                {
                    var info = new SKImageInfo(decodedWidth, decodedHeight, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                    // Frame 0 only: animated GIF/WebP cost one frame, however many they hold.
                    var status = codec.GetPixels(info, stored.Address, stored.RowBytes, new SKCodecOptions(0));
                    if (status != SKCodecResult.Success)
                    {
                        throw new ImageDecodeException(ImageErrorKind.Corrupt, $"The {format} data is corrupt or truncated ({status}).");
                    }
                }
                var orientation = (ExifOrientation)codec.EncodedOrigin;
                if (orientation is ExifOrientation.TopLeft || !Enum.IsDefined(orientation))
                {
                    return stored;
                }
                using (stored)
                {
                    var displayed = Orientation.ToDisplayed(stored, orientation);
                    var swap = Orientation.SwapsAxes(orientation);
                    displayed.SourceWidth = swap ? height : width;
                    displayed.SourceHeight = swap ? width : height;
                    return displayed;
                }
            }
            catch
            {
                stored.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// The smallest size the codec decodes natively (JPEG: 1/2, 1/4, 1/8 in the DCT; WebP: any) whose longer side is still
    /// ≥ minLongSide. Decoding a 12 MP photo straight to ~2 MP costs a fraction of the time and memory, and the detector and
    /// classifier look at far fewer pixels anyway.
    /// </summary>
    private static (int Width, int Height) ScaledSize(SKCodec codec, int width, int height, int minLongSide)
    {
        var longSide = Math.Max(width, height);
        if (minLongSide <= 0 || longSide < 2 * minLongSide)
        {
            return (width, height);
        }
        var best = (width, height);
        ReadOnlySpan<float> scales = [0.5f, 0.25f, 0.125f];
        foreach (var scale in scales)
        {
            var size = codec.GetScaledDimensions(scale);
            if (Math.Max(size.Width, size.Height) < minLongSide || size.Width <= 0 || size.Height <= 0)
            {
                break;
            }
            if (size.Width < best.width)
            {
                best = (size.Width, size.Height);
            }
        }
        return best;
    }
}
