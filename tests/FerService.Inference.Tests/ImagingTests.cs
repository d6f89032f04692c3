using FerService.Inference.Imaging;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Inference.Tests;

public sealed class ImagingTests
{
    private static readonly SkiaImageDecoder Decoder = new();

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 95);
        return data.ToArray();
    }

    private static SKBitmap Marked(int width, int height)
    {
        // Red top-left corner marker on grey, so orientation is visible in the decoded pixels.
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(SKColors.Gray);
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint { Color = SKColors.Red };
        canvas.DrawRect(0, 0, 8, 8, paint);
        return bitmap;
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png, ImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg, ImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Webp, ImageFormat.WebP)]
    public void Sniffer_EncodedImage_RecognisesFormat(SKEncodedImageFormat encoded, ImageFormat expected)
    {
        using var bitmap = Marked(32, 24);
        Assert.Equal(expected, ImageFormatSniffer.Detect(Encode(bitmap, encoded)));
    }

    [Fact]
    public void Sniffer_GifAndBmpHeaders_Recognised()
    {
        Assert.Equal(ImageFormat.Gif, ImageFormatSniffer.Detect("GIF89a\x01\x00\x01\x00"u8));
        Assert.Equal(ImageFormat.Bmp, ImageFormatSniffer.Detect("BM\0\0\0\0\0\0\0\0\0\0\0\0\0\0"u8));
    }

    [Fact]
    public void Sniffer_TextAndEmpty_Unknown()
    {
        Assert.Equal(ImageFormat.Unknown, ImageFormatSniffer.Detect("hello, this is not an image"u8));
        Assert.Equal(ImageFormat.Unknown, ImageFormatSniffer.Detect([]));
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Webp)]
    public void Decode_EncodedImage_KeepsSizeAndPixels(SKEncodedImageFormat format)
    {
        using var bitmap = Marked(40, 30);
        using var decoded = Decoder.Decode(Encode(bitmap, format), DecodeLimits.Default);
        Assert.Equal(40, decoded.Width);
        Assert.Equal(30, decoded.Height);
        var pixels = decoded.Pixels;
        Assert.InRange(pixels[0], 200, 255);
        Assert.InRange(pixels[1], 0, 60);
        var centre = (15 * 40 + 20) * 4;
        Assert.InRange(pixels[centre], 110, 145);
    }

    [Fact]
    public void Decode_OnePixelGif_ReadsFirstFrame()
    {
        // 1×1 GIF89a, global palette [red, black], one frame of palette index 0.
        byte[] gif =
        [
            0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
        ];
        using var decoded = Decoder.Decode(gif, DecodeLimits.Default);
        Assert.Equal((1, 1), (decoded.Width, decoded.Height));
        Assert.Equal([255, 0, 0], decoded.Pixels[..3].ToArray());
    }

    [Fact]
    public void Decode_AnimatedGif_ReturnsTheFirstFrameOnly()
    {
        // Two 1×1 frames: palette index 0 (red), then index 1 (black), 100 ms apart.
        byte[] frame0 = [0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x44, 0x01, 0x00];
        byte[] frame1 = [0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0x02, 0x02, 0x4C, 0x01, 0x00];
        byte[] gif = [.. "GIF89a"u8, 1, 0, 1, 0, 0x80, 0, 0, 0xFF, 0, 0, 0, 0, 0, .. frame0, .. frame1, 0x3B];
        using var decoded = Decoder.Decode(gif, DecodeLimits.Default);
        Assert.Equal([255, 0, 0], decoded.Pixels[..3].ToArray());
    }

    [Fact]
    public void Decode_Bmp24_KeepsPixelOrder()
    {
        // 2×1 bottom-up 24-bit BMP: blue then red (stored B, G, R), rows padded to 4 bytes.
        byte[] bmp =
        [
            0x42, 0x4D, 62, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0,
            40, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0x13, 0x0B, 0, 0, 0x13, 0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00,
        ];
        using var decoded = Decoder.Decode(bmp, DecodeLimits.Default);
        Assert.Equal((2, 1), (decoded.Width, decoded.Height));
        Assert.Equal([0, 0, 255], decoded.Pixels[..3].ToArray());
        Assert.Equal([255, 0, 0], decoded.Pixels[4..7].ToArray());
    }

    [Fact]
    public void Decode_Text_ThrowsUnsupportedFormat()
    {
        var error = Assert.Throws<ImageDecodeException>(() => Decoder.Decode("plain text"u8, DecodeLimits.Default));
        Assert.Equal(ImageErrorKind.UnsupportedFormat, error.Kind);
    }

    [Fact]
    public void Decode_TruncatedPng_ThrowsCorrupt()
    {
        using var bitmap = Marked(64, 64);
        var png = Encode(bitmap, SKEncodedImageFormat.Png);
        var error = Assert.Throws<ImageDecodeException>(() => Decoder.Decode(png.AsSpan(0, png.Length / 2), DecodeLimits.Default));
        Assert.Equal(ImageErrorKind.Corrupt, error.Kind);
    }

    [Fact]
    public void Decode_OverPixelLimit_ThrowsTooLargeBeforeDecoding()
    {
        using var bitmap = Marked(100, 100);
        var png = Encode(bitmap, SKEncodedImageFormat.Png);
        var error = Assert.Throws<ImageDecodeException>(() => Decoder.Decode(png, new DecodeLimits(5_000, 16_384)));
        Assert.Equal(ImageErrorKind.TooLarge, error.Kind);
    }

    [Theory]
    [InlineData(ExifOrientation.TopLeft)]
    [InlineData(ExifOrientation.TopRight)]
    [InlineData(ExifOrientation.BottomRight)]
    [InlineData(ExifOrientation.BottomLeft)]
    [InlineData(ExifOrientation.LeftTop)]
    [InlineData(ExifOrientation.RightTop)]
    [InlineData(ExifOrientation.RightBottom)]
    [InlineData(ExifOrientation.LeftBottom)]
    public void ToDisplayed_EveryOrientation_MovesPixelsAsDisplayedToStoredSays(ExifOrientation orientation)
    {
        const int storedWidth = 5, storedHeight = 3;
        var grey = new byte[storedWidth * storedHeight];
        for (var i = 0; i < grey.Length; i++)
        {
            grey[i] = (byte)(10 * i + 5);
        }
        using var stored = RgbaImage.FromGrey(grey, storedWidth, storedHeight);
        using var displayed = Orientation.ToDisplayed(stored, orientation);
        var swaps = Orientation.SwapsAxes(orientation);
        Assert.Equal(swaps ? storedHeight : storedWidth, displayed.Width);
        Assert.Equal(swaps ? storedWidth : storedHeight, displayed.Height);
        for (var y = 0; y < displayed.Height; y++)
        {
            for (var x = 0; x < displayed.Width; x++)
            {
                var (sx, sy) = Orientation.DisplayedToStored(orientation, x, y, storedWidth, storedHeight);
                Assert.Equal(grey[sy * storedWidth + sx], displayed.Pixels[(y * displayed.Width + x) * 4]);
            }
        }
    }

    [Fact]
    public void DisplayedToStored_RightTop_IsClockwiseRotation()
    {
        // EXIF 6: the stored image must be rotated 90° clockwise to display, so displayed (0,0) is stored bottom-left.
        Assert.Equal((0, 2), Orientation.DisplayedToStored(ExifOrientation.RightTop, 0, 0, 5, 3));
        Assert.Equal((0, 0), Orientation.DisplayedToStored(ExifOrientation.RightTop, 2, 0, 5, 3));
    }
}

public sealed class ExifDecodingTests
{
    [Fact]
    public void Decode_JpegWithOrientation6_ReturnsRotatedDisplayedPixels()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(40, 30, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(SKColors.Gray);
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.Red })
        {
            canvas.DrawRect(0, 0, 10, 10, paint);
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 95);
        var jpeg = Exif.WithOrientation(data.ToArray(), 6);

        using var decoded = new SkiaImageDecoder().Decode(jpeg, DecodeLimits.Default);

        // Rotated 90° clockwise for display: 30 wide, 40 high, the stored top-left marker now top-right.
        Assert.Equal(30, decoded.Width);
        Assert.Equal(40, decoded.Height);
        var topRight = (2 * 30 + 27) * 4;
        var topLeft = (2 * 30 + 2) * 4;
        Assert.InRange(decoded.Pixels[topRight], 200, 255);
        Assert.InRange(decoded.Pixels[topRight + 1], 0, 70);
        Assert.InRange(decoded.Pixels[topLeft], 100, 150);
    }
}
