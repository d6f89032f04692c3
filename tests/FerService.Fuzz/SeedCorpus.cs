using SkiaSharp;

namespace FerService.Fuzz;

/// <summary>Small valid images of every decoded format, generated rather than committed.</summary>
internal static class SeedCorpus
{
    public static IEnumerable<(string Name, byte[] Data)> Generate()
    {
        using var bitmap = new SKBitmap(48, 32);
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.Coral })
        {
            canvas.Clear(SKColors.SteelBlue);
            canvas.DrawCircle(24, 16, 10, paint);
        }
        using var image = SKImage.FromBitmap(bitmap);
        foreach (var (name, format) in new[] { ("seed.png", SKEncodedImageFormat.Png), ("seed.jpg", SKEncodedImageFormat.Jpeg), ("seed.webp", SKEncodedImageFormat.Webp) })
        {
            using var data = image.Encode(format, 80);
            yield return (name, data.ToArray());
        }
        yield return ("seed.gif",
        [
            0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
        ]);
        yield return ("seed.bmp",
        [
            0x42, 0x4D, 62, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0,
            40, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 24, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0x13, 0x0B, 0, 0, 0x13, 0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00,
        ]);
    }

    public static void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var (name, data) in Generate())
        {
            File.WriteAllBytes(Path.Combine(directory, name), data);
        }
    }
}
