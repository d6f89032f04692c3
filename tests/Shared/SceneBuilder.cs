using FerService.Evaluation;
using FerService.Inference.Detection;
using SkiaSharp;

namespace FerService.Tests.Shared;

/// <summary>A generated test scene: encoded image bytes and where each pasted face is.</summary>
internal sealed record Scene(byte[] Encoded, int Width, int Height, IReadOnlyList<(int Row, BoxF Box)> Faces);

/// <summary>
/// Pastes FER2013 faces at known positions and sizes into larger non-flat scenes (gradients, shapes, noise),
/// deterministic for a seed, so detection and end-to-end accuracy can be measured against ground truth.
/// </summary>
internal static class SceneBuilder
{
    public static Scene Build(Fer2013Split split, IReadOnlyList<int> rows, Random random, int width = 640, int height = 480,
        int minSide = 64, int maxSide = 200, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var canvas = new SKCanvas(bitmap);
        PaintBackground(canvas, width, height, random);
        var placed = new List<(int, BoxF)>();
        foreach (var row in rows)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var side = random.Next(minSide, maxSide + 1);
                // Anywhere, edges included: off-centre placement is what the detector must handle.
                var x = random.Next(0, width - side + 1);
                var y = random.Next(0, height - side + 1);
                var box = new BoxF(x, y, side, side);
                if (placed.Exists(p => Overlaps(p.Item2, box)))
                {
                    continue;
                }
                DrawFace(canvas, split.Image(row), box);
                placed.Add((row, box));
                break;
            }
        }
        canvas.Flush();
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, 92);
        return new Scene(data.ToArray(), width, height, placed);
    }

    /// <summary>A scene with each face at the box given (no check for overlap), as PNG.</summary>
    public static Scene BuildAt(Fer2013Split split, IReadOnlyList<(int Row, BoxF Box)> faces, Random random, int width, int height)
    {
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using (var canvas = new SKCanvas(bitmap))
        {
            PaintBackground(canvas, width, height, random);
            foreach (var (row, box) in faces)
            {
                DrawFace(canvas, split.Image(row), box);
            }
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return new Scene(data.ToArray(), width, height, faces);
    }

    public static byte[] EncodeGrey(ReadOnlySpan<byte> grey, int side, SKEncodedImageFormat format = SKEncodedImageFormat.Png)
    {
        using var bitmap = GreyBitmap(grey, side);
        using var data = bitmap.Encode(format, 100);
        return data.ToArray();
    }

    private static SKBitmap GreyBitmap(ReadOnlySpan<byte> grey, int side)
    {
        var bitmap = new SKBitmap(new SKImageInfo(side, side, SKColorType.Gray8, SKAlphaType.Opaque));
        System.Runtime.InteropServices.Marshal.Copy(grey[..(side * side)].ToArray(), 0, bitmap.GetPixels(), side * side);
        return bitmap;
    }

    private static void DrawFace(SKCanvas canvas, ReadOnlySpan<byte> face, BoxF box)
    {
        using var bitmap = GreyBitmap(face, Fer2013Split.Side);
        using var image = SKImage.FromBitmap(bitmap);
        canvas.DrawImage(image, SKRect.Create(box.X, box.Y, box.Width, box.Height), new SKSamplingOptions(SKCubicResampler.Mitchell));
    }

    private static bool Overlaps(BoxF a, BoxF b) =>
        a.X < b.Right + 8 && b.X < a.Right + 8 && a.Y < b.Bottom + 8 && b.Y < a.Bottom + 8;

    private static void PaintBackground(SKCanvas canvas, int width, int height, Random random)
    {
        SKColor RandomColor() => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        using var gradient = new SKPaint
        {
            Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [RandomColor(), RandomColor()], SKShaderTileMode.Clamp),
        };
        canvas.DrawRect(0, 0, width, height, gradient);
        using var paint = new SKPaint { IsAntialias = true };
        for (var i = 0; i < 25; i++)
        {
            paint.Color = RandomColor().WithAlpha((byte)random.Next(60, 200));
            var x = random.Next(width);
            var y = random.Next(height);
            if (i % 2 == 0)
            {
                canvas.DrawRect(x, y, random.Next(10, 160), random.Next(10, 160), paint);
            }
            else
            {
                canvas.DrawCircle(x, y, random.Next(5, 60), paint);
            }
        }
        paint.Color = SKColors.Black.WithAlpha(40);
        for (var i = 0; i < 3000; i++)
        {
            canvas.DrawPoint(random.Next(width), random.Next(height), paint);
        }
    }
}
