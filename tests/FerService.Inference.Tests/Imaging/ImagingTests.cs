using FerService.Inference.Imaging;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Inference.Tests.Imaging;

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
    [InlineData(SKEncodedImageFormat.Png, nameof(ImageFormat.Png))]
    [InlineData(SKEncodedImageFormat.Jpeg, nameof(ImageFormat.Jpeg))]
    [InlineData(SKEncodedImageFormat.Webp, nameof(ImageFormat.WebP))]
    public void Sniffer_EncodedImage_RecognisesFormat(SKEncodedImageFormat encoded, string format)
    {
        var expected = Enum.Parse<ImageFormat>(format);
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
    public void Decode_AnimatedWebP_ReturnsTheFirstFrameOnly()
    {
        var webp = CraftedImages.AnimatedWebP(16, SKColors.Red, SKColors.Blue, SKColors.Lime);
        using var decoded = Decoder.Decode(webp, DecodeLimits.Default);
        Assert.Equal((16, 16), (decoded.Width, decoded.Height));
        var centre = (8 * 16 + 8) * 4;
        Assert.InRange(decoded.Pixels[centre], 200, 255);
        Assert.InRange(decoded.Pixels[centre + 2], 0, 60);
    }

    [Theory]
    [InlineData(255, 0, 0, 255, 255, 0, 0)]      // Adobe-inverted CMYK: no cyan, full magenta and yellow, no black = red
    [InlineData(255, 255, 255, 0, 0, 0, 0)]      // full black ink
    [InlineData(255, 255, 255, 255, 255, 255, 255)] // no ink: white
    public void Decode_CmykJpeg_ConvertsToRgb(byte c, byte m, byte y, byte k, byte r, byte g, byte b)
    {
        using var decoded = Decoder.Decode(CraftedImages.CmykJpeg(c, m, y, k), DecodeLimits.Default);
        Assert.Equal((8, 8), (decoded.Width, decoded.Height));
        var centre = (4 * 8 + 4) * 4;
        Assert.InRange(decoded.Pixels[centre], Math.Max(0, r - 8), Math.Min(255, r + 8));
        Assert.InRange(decoded.Pixels[centre + 1], Math.Max(0, g - 8), Math.Min(255, g + 8));
        Assert.InRange(decoded.Pixels[centre + 2], Math.Max(0, b - 8), Math.Min(255, b + 8));
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
    [InlineData(nameof(ExifOrientation.TopLeft))]
    [InlineData(nameof(ExifOrientation.TopRight))]
    [InlineData(nameof(ExifOrientation.BottomRight))]
    [InlineData(nameof(ExifOrientation.BottomLeft))]
    [InlineData(nameof(ExifOrientation.LeftTop))]
    [InlineData(nameof(ExifOrientation.RightTop))]
    [InlineData(nameof(ExifOrientation.RightBottom))]
    [InlineData(nameof(ExifOrientation.LeftBottom))]
    public void ToDisplayed_EveryOrientation_MovesPixelsAsDisplayedToStoredSays(string name)
    {
        var orientation = Enum.Parse<ExifOrientation>(name);
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

    [Theory]
    [InlineData(4000, 3000, 1280, 2000, 1500)]   // 1/4 would leave 1000 < 1280: 1/2 is the smallest allowed
    [InlineData(6000, 4000, 1280, 1500, 1000)]   // 1/4 keeps the longer side at 1500
    [InlineData(2000, 1500, 1280, 2000, 1500)]   // under twice the minimum: full size
    [InlineData(4000, 3000, 0, 4000, 3000)]      // 0 = never scaled
    public void Decode_LargeJpegWithMinLongSide_DecodesScaledAndKeepsSourceSize(int width, int height, int minLongSide, int expectedWidth, int expectedHeight)
    {
        using var bitmap = Marked(width, height);
        var jpeg = Encode(bitmap, SKEncodedImageFormat.Jpeg);

        using var decoded = Decoder.Decode(jpeg, DecodeLimits.Default, minLongSide);

        Assert.Equal((expectedWidth, expectedHeight), (decoded.Width, decoded.Height));
        Assert.Equal((width, height), (decoded.SourceWidth, decoded.SourceHeight));
        Assert.InRange(decoded.Pixels[0], 200, 255); // the red marker survives the scaled decode
    }

    [Fact]
    public void Decode_LargePngWithMinLongSide_DecodesFullSize()
    {
        using var bitmap = Marked(2800, 600);

        using var decoded = Decoder.Decode(Encode(bitmap, SKEncodedImageFormat.Png), DecodeLimits.Default, 1280);

        // PNG has no scaled decode in the codec; the image comes back whole.
        Assert.Equal((2800, 600, 2800, 600), (decoded.Width, decoded.Height, decoded.SourceWidth, decoded.SourceHeight));
    }

    [Fact]
    public void Decode_ScaledJpegWithOrientation6_ReportsDisplayedSourceSize()
    {
        using var bitmap = Marked(3200, 2400);
        var jpeg = Exif.WithOrientation(Encode(bitmap, SKEncodedImageFormat.Jpeg), 6);

        using var decoded = Decoder.Decode(jpeg, DecodeLimits.Default, 1280);

        Assert.Equal((1200, 1600), (decoded.Width, decoded.Height));
        Assert.Equal((2400, 3200), (decoded.SourceWidth, decoded.SourceHeight));
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

/// <summary>A fact that needs the system's TurboJPEG; skipped with a message saying how to install it.</summary>
internal sealed class TurboJpegFactAttribute : FactAttribute
{
    public TurboJpegFactAttribute()
    {
        if (!TurboJpeg.IsAvailable)
        {
            Skip = "libturbojpeg.so.0 is not installed (Debian: apt-get install libturbojpeg0); JPEG pixels then come from SkiaSharp alone.";
        }
    }
}

public sealed class TurboJpegTests
{
    private static readonly SkiaImageDecoder WithTurbo = new(turboJpeg: true);
    private static readonly SkiaImageDecoder SkiaOnly = new(turboJpeg: false);

    /// <summary>A busy picture (gradients, shapes, text-like strokes) so every DCT coefficient and chroma sample matters.</summary>
    private static byte[] Photo(int width, int height, int quality, SKColorType colour = SKColorType.Rgba8888, int seed = 1)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, colour, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            using var gradient = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height),
                [new SKColor(30, 60, 200), new SKColor(240, 200, 40), new SKColor(20, 160, 90)], SKShaderTileMode.Clamp);
            using var background = new SKPaint { Shader = gradient };
            canvas.DrawRect(0, 0, width, height, background);
            using var paint = new SKPaint { IsAntialias = true };
            for (var i = 0; i < 60; i++)
            {
                paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                paint.StrokeWidth = random.Next(1, 6);
                paint.Style = i % 3 == 0 ? SKPaintStyle.Stroke : SKPaintStyle.Fill;
                canvas.DrawCircle(random.Next(width), random.Next(height), random.Next(3, Math.Max(4, width / 6)), paint);
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        return data.ToArray();
    }

    [TurboJpegFact]
    public void TryDecode_OrdinaryJpeg_DecodesThroughTurboJpeg()
    {
        var jpeg = Photo(64, 48, 90);
        var pixels = new byte[64 * 48 * 4];

        Assert.True(TurboJpeg.TryDecode(jpeg, pixels, 64, 48, 64 * 4));
        Assert.Equal(255, pixels[3]); // opaque alpha written
    }

    [TurboJpegFact]
    public void Decode_JpegsOfManySizesAndQualities_SameBytesAsSkia()
    {
        (int Width, int Height, int Quality, SKColorType Colour, int MinLongSide)[] cases =
        [
            (640, 480, 60, SKColorType.Rgba8888, 0), (801, 603, 95, SKColorType.Rgba8888, 0), (1280, 720, 80, SKColorType.Rgba8888, 0),
            (17, 9, 75, SKColorType.Rgba8888, 0), (320, 240, 85, SKColorType.Gray8, 0),
            (3000, 1700, 85, SKColorType.Rgba8888, 1280), // decoded at 1/2 in the DCT
            (5200, 2900, 70, SKColorType.Rgba8888, 1280), // 1/4
        ];
        foreach (var (width, height, quality, colour, minLongSide) in cases)
        {
            var jpeg = Photo(width, height, quality, colour, seed: width);

            using var turbo = WithTurbo.Decode(jpeg, DecodeLimits.Default, minLongSide);
            using var skia = SkiaOnly.Decode(jpeg, DecodeLimits.Default, minLongSide);

            Assert.Equal((skia.Width, skia.Height), (turbo.Width, turbo.Height));
            Assert.True(skia.Pixels.SequenceEqual(turbo.Pixels), $"{width}x{height} q{quality} {colour} at min side {minLongSide}: pixels differ");
        }
    }

    [TurboJpegFact]
    public void Decode_TruncatedJpeg_ThrowsCorruptAsSkiaAlone()
    {
        var jpeg = Photo(320, 240, 90);
        var truncated = jpeg.AsSpan(0, jpeg.Length * 2 / 3).ToArray();

        var turbo = Assert.Throws<ImageDecodeException>(() => WithTurbo.Decode(truncated, DecodeLimits.Default).Dispose());
        var skia = Assert.Throws<ImageDecodeException>(() => SkiaOnly.Decode(truncated, DecodeLimits.Default).Dispose());

        Assert.Equal(ImageErrorKind.Corrupt, turbo.Kind);
        Assert.Equal(skia.Message, turbo.Message);
    }
}
