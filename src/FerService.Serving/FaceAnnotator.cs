using FerService.Inference;
using FerService.Inference.Imaging;
using SkiaSharp;

namespace FerService.Serving;

/// <summary>
/// Draws each face's box, landmarks and a numbered "dominant emotion %" label onto the image and encodes it.
/// Labels need a TrueType font file (Debian's fonts-dejavu-core by default); without one only boxes and landmarks are drawn.
/// </summary>
public sealed class FaceAnnotator : IDisposable
{
    private static readonly SKColor[] Colours =
    [
        new(0xE0, 0x53, 0x3D), new(0x7A, 0x9A, 0x01), new(0x8E, 0x44, 0xAD), new(0xF2, 0xA9, 0x00),
        new(0x2B, 0x5F, 0xD9), new(0x00, 0xA6, 0xA6), new(0x7F, 0x8C, 0x8D),
    ];

    /// <summary>DejaVu Sans where Debian's fonts-dejavu-core puts it; the container images copy it to the same place.</summary>
    public const string DefaultFontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    private readonly SKTypeface? _typeface;

    public FaceAnnotator(string? fontPath = DefaultFontPath) =>
        _typeface = !string.IsNullOrEmpty(fontPath) && File.Exists(fontPath) ? SKTypeface.FromFile(fontPath) : null;

    internal byte[] Draw(RgbaImage image, IReadOnlyList<FaceEmotion> faces, ModelCard model, SKEncodedImageFormat format, int quality = 90)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var surface = SKSurface.Create(info with { AlphaType = SKAlphaType.Premul });
        var canvas = surface.Canvas;
        using (var source = SKImage.FromPixels(info, image.Address, image.RowBytes))
        {
            canvas.DrawImage(source, 0, 0, SKSamplingOptions.Default);
        }
        var line = Math.Max(2f, MathF.Round(Math.Min(image.Width, image.Height) / 200f));
        using var font = _typeface is null ? null : new SKFont(_typeface, line * 7);
        using var stroke = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = line, IsAntialias = true };
        using var fill = new SKPaint { Style = SKPaintStyle.Fill, IsAntialias = true };
        for (var i = 0; i < faces.Count; i++)
        {
            var face = faces[i];
            // The face carries its label already; the card's order only picks the colour, the same for an emotion everywhere.
            var colour = Colours[Math.Max(0, IndexOf(model.Labels, face.Emotion)) % Colours.Length];
            var box = SKRect.Create(face.Box.X, face.Box.Y, face.Box.Width, face.Box.Height);
            stroke.Color = colour;
            canvas.DrawRect(box, stroke);
            if (face.Landmarks is { } points)
            {
                fill.Color = SKColors.White;
                foreach (var point in new[] { points.RightEye, points.LeftEye, points.Nose, points.RightMouth, points.LeftMouth })
                {
                    canvas.DrawCircle(point.X, point.Y, line, fill);
                }
            }
            if (font is not null)
            {
                var text = $"{i + 1}: {face.Emotion} {face.Confidence:P0}";
                var width = font.MeasureText(text) + 2 * line;
                var height = line * 9;
                var top = box.Top > height ? box.Top - height : Math.Min(box.Bottom, image.Height - height);
                var left = Math.Clamp(box.Left - line / 2, 0, Math.Max(0, image.Width - width));
                fill.Color = colour;
                canvas.DrawRect(SKRect.Create(left, top, width, height), fill);
                fill.Color = SKColors.White;
                canvas.DrawText(text, left + line, top + height - 2 * line, SKTextAlign.Left, font, fill);
            }
        }
        using var snapshot = surface.Snapshot();
        using var encoded = snapshot.Encode(format, quality);
        return encoded.ToArray();
    }

    public void Dispose() => _typeface?.Dispose();

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i] == label)
            {
                return i;
            }
        }
        return -1;
    }
}
