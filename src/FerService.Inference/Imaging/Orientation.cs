namespace FerService.Inference.Imaging;

/// <summary>EXIF orientation values 1–8 (the same numbering as SkiaSharp's SKEncodedOrigin).</summary>
internal enum ExifOrientation
{
    TopLeft = 1,
    TopRight = 2,
    BottomRight = 3,
    BottomLeft = 4,
    LeftTop = 5,
    RightTop = 6,
    RightBottom = 7,
    LeftBottom = 8,
}

/// <summary>Maps between stored pixels and the image as displayed after its EXIF orientation.</summary>
internal static class Orientation
{
    public static bool SwapsAxes(ExifOrientation orientation) => orientation >= ExifOrientation.LeftTop;

    /// <summary>The stored pixel shown at displayed (x, y); <paramref name="storedWidth"/> × <paramref name="storedHeight"/> is the encoded size.</summary>
    public static (int X, int Y) DisplayedToStored(ExifOrientation orientation, int x, int y, int storedWidth, int storedHeight) => orientation switch
    {
        ExifOrientation.TopRight => (storedWidth - 1 - x, y),
        ExifOrientation.BottomRight => (storedWidth - 1 - x, storedHeight - 1 - y),
        ExifOrientation.BottomLeft => (x, storedHeight - 1 - y),
        ExifOrientation.LeftTop => (y, x),
        ExifOrientation.RightTop => (y, storedHeight - 1 - x),
        ExifOrientation.RightBottom => (storedWidth - 1 - y, storedHeight - 1 - x),
        ExifOrientation.LeftBottom => (storedWidth - 1 - y, x),
        _ => (x, y),
    };

    /// <summary>Copies <paramref name="stored"/> into a new image in displayed orientation.</summary>
    public static RgbaImage ToDisplayed(RgbaImage stored, ExifOrientation orientation)
    {
        var swap = SwapsAxes(orientation);
        var displayed = new RgbaImage(swap ? stored.Height : stored.Width, swap ? stored.Width : stored.Height);
        var source = stored.Pixels;
        var destination = displayed.Pixels;
        for (var y = 0; y < displayed.Height; y++)
        {
            var row = destination.Slice(y * displayed.RowBytes, displayed.RowBytes);
            for (var x = 0; x < displayed.Width; x++)
            {
                var (sx, sy) = DisplayedToStored(orientation, x, y, stored.Width, stored.Height);
                source.Slice((sy * stored.Width + sx) * 4, 4).CopyTo(row.Slice(x * 4, 4));
            }
        }
        return displayed;
    }
}
