using FerService.Evaluation;
using FerService.Inference.Detection;
using SkiaSharp;

namespace FerService.Training.Scenes;

/// <summary>A generated scene: the file a user would upload, and where each pasted face is in the displayed image.</summary>
internal sealed record GeneratedScene(byte[] Encoded, int Width, int Height, int ExifOrientation, IReadOnlyList<(int Row, BoxF Box)> Faces);

/// <summary>
/// Composite photos made of FER2013 faces, deterministic for a seed, so detection, alignment and classification can be
/// measured together against ground truth. Varied on purpose, so nothing is tuned to one look: four canvas sizes,
/// three background styles with clutter (shapes, text, noise), 0–4 faces of 48–250 px anywhere (edges included),
/// a tint and contrast per face, JPEG at quality 60–95 or PNG, and one scene in twenty stored rotated with an EXIF
/// orientation, so that the box must come back in displayed pixels.
/// </summary>
internal static class SceneGenerator
{
    private static readonly (int Width, int Height)[] Sizes = [(640, 480), (800, 600), (1024, 768), (1280, 720)];
    private const int MinFaceSide = 48;
    private const int MaxFaceSide = 250;
    private const string ClutterWords = "OPEN SALE 24h EXIT Cafe Nord 2026 Hotel Photo Room 12";

    /// <summary>Up to four rows per scene, taken in order from <paramref name="rows"/>; some scenes hold no face at all.</summary>
    public static IEnumerable<GeneratedScene> Generate(Fer2013Split split, IReadOnlyList<int> rows, int seed)
    {
        var random = new Random(seed);
        for (var next = 0; next < rows.Count;)
        {
            // One scene in eight is empty: false faces are counted where no face can excuse them.
            var count = random.Next(8) == 0 ? 0 : Math.Min(random.Next(1, 5), rows.Count - next);
            var taken = new int[count];
            for (var i = 0; i < count; i++)
            {
                taken[i] = rows[next++];
            }
            yield return Build(split, taken, random);
        }
    }

    public static GeneratedScene Build(Fer2013Split split, IReadOnlyList<int> rows, Random random)
    {
        var (width, height) = Sizes[random.Next(Sizes.Length)];
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using (var canvas = new SKCanvas(bitmap))
        {
            PaintBackground(canvas, width, height, random);
            var placed = new List<(int, BoxF)>();
            foreach (var row in rows)
            {
                for (var attempt = 0; attempt < 200; attempt++)
                {
                    var side = random.Next(MinFaceSide, Math.Min(MaxFaceSide, height) + 1);
                    // Edges half as likely as anywhere else, but often: faces cut by a photo's border are common.
                    var x = random.Next(4) == 0 ? (random.Next(2) == 0 ? 0 : width - side) : random.Next(0, width - side + 1);
                    var y = random.Next(0, height - side + 1);
                    var box = new BoxF(x, y, side, side);
                    if (placed.Exists(p => Overlaps(p.Item2, box)))
                    {
                        continue;
                    }
                    DrawFace(canvas, split.Image(row), box, random);
                    placed.Add((row, box));
                    break;
                }
            }
            canvas.Flush();
            var orientation = random.Next(20) == 0 ? OrientationChoices[random.Next(OrientationChoices.Length)] : 1;
            var jpeg = orientation != 1 || random.Next(5) != 0;
            var quality = random.Next(60, 96);
            return new GeneratedScene(Encode(bitmap, orientation, jpeg, quality), width, height, orientation, placed);
        }
    }

    private static readonly int[] OrientationChoices = [3, 6, 8];

    /// <summary>
    /// Stores the displayed image rotated the other way and tags it with the EXIF orientation that undoes the rotation
    /// (3: 180°, 6: the stored image is turned 90° clockwise to display, 8: 90° anticlockwise).
    /// </summary>
    internal static byte[] Encode(SKBitmap displayed, int orientation, bool jpeg, int quality)
    {
        if (orientation == 1)
        {
            using var data = displayed.Encode(jpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png, quality);
            return data.ToArray();
        }
        var quarterTurn = orientation != 3;
        var (storedWidth, storedHeight) = quarterTurn ? (displayed.Height, displayed.Width) : (displayed.Width, displayed.Height);
        using var stored = new SKBitmap(storedWidth, storedHeight, SKColorType.Rgba8888, SKAlphaType.Premul);
        using (var canvas = new SKCanvas(stored))
        {
            canvas.Translate(storedWidth / 2f, storedHeight / 2f);
            // Displaying turns the stored image by this angle (clockwise); storing turns the displayed one back.
            canvas.RotateDegrees(orientation switch { 6 => -90, 8 => 90, _ => 180 });
            using var image = SKImage.FromBitmap(displayed);
            canvas.DrawImage(image, -displayed.Width / 2f, -displayed.Height / 2f, new SKSamplingOptions(SKFilterMode.Nearest));
        }
        using var encoded = stored.Encode(SKEncodedImageFormat.Jpeg, quality);
        return WithExifOrientation(encoded.ToArray(), orientation);
    }

    /// <summary>Inserts an APP1 Exif segment holding only the orientation tag right after the JPEG's SOI marker.</summary>
    internal static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        byte[] segment =
        [
            0xFF, 0xE1, 0x00, 0x22, (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'I', (byte)'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, // little-endian TIFF header, first IFD at 8
            0x01, 0x00, // one entry
            0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, (byte)orientation, 0x00, 0x00, 0x00, // 0x0112 SHORT ×1
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        var result = new byte[jpeg.Length + segment.Length];
        jpeg.AsSpan(0, 2).CopyTo(result);
        segment.CopyTo(result.AsSpan(2));
        jpeg.AsSpan(2).CopyTo(result.AsSpan(2 + segment.Length));
        return result;
    }

    /// <summary>A FER2013 row as a 48×48 grey image.</summary>
    internal static SKImage FaceImage(ReadOnlySpan<byte> face)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(Fer2013Split.Side, Fer2013Split.Side, SKColorType.Gray8, SKAlphaType.Opaque));
        face[..Fer2013Split.PixelCount].CopyTo(bitmap.GetPixelSpan());
        return SKImage.FromBitmap(bitmap);
    }

    private static void DrawFace(SKCanvas canvas, ReadOnlySpan<byte> face, BoxF box, Random random)
    {
        using var image = FaceImage(face);
        // A warm or cool cast and a little contrast change, as the light of a photo gives a face.
        var contrast = 0.85f + 0.3f * random.NextSingle();
        float Tint() => 0.9f + 0.2f * random.NextSingle();
        var offset = (1 - contrast) * 0.5f;
        using var filter = SKColorFilter.CreateColorMatrix(
        [
            contrast * Tint(), 0, 0, 0, offset,
            0, contrast * Tint(), 0, 0, offset,
            0, 0, contrast * Tint(), 0, offset,
            0, 0, 0, 1, 0,
        ]);
        using var paint = new SKPaint { ColorFilter = filter };
        canvas.DrawImage(image, SKRect.Create(box.X, box.Y, box.Width, box.Height), new SKSamplingOptions(SKCubicResampler.Mitchell), paint);
    }

    private static bool Overlaps(BoxF a, BoxF b) =>
        a.X < b.Right + 8 && b.X < a.Right + 8 && a.Y < b.Bottom + 8 && b.Y < a.Bottom + 8;

    private static void PaintBackground(SKCanvas canvas, int width, int height, Random random)
    {
        SKColor RandomColor() => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        using var paint = new SKPaint { IsAntialias = true };
        switch (random.Next(3))
        {
            case 0:
                paint.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [RandomColor(), RandomColor()], SKShaderTileMode.Clamp);
                break;
            case 1:
                paint.Shader = SKShader.CreatePerlinNoiseTurbulence(0.005f + 0.03f * random.NextSingle(), 0.005f + 0.03f * random.NextSingle(), 3, random.Next());
                break;
            default:
                paint.Color = RandomColor();
                break;
        }
        canvas.DrawRect(0, 0, width, height, paint);
        paint.Shader = null;
        var shapes = random.Next(10, 40);
        for (var i = 0; i < shapes; i++)
        {
            paint.Color = RandomColor().WithAlpha((byte)random.Next(60, 230));
            var x = random.Next(width);
            var y = random.Next(height);
            switch (random.Next(3))
            {
                case 0: canvas.DrawRect(x, y, random.Next(10, 200), random.Next(10, 200), paint); break;
                case 1: canvas.DrawCircle(x, y, random.Next(5, 80), paint); break;
                default: canvas.DrawOval(x, y, random.Next(10, 90), random.Next(10, 90), paint); break;
            }
        }
        using var font = new SKFont(SKTypeface.Default, random.Next(14, 60));
        paint.Color = RandomColor();
        var words = ClutterWords.Split(' ');
        for (var i = random.Next(4); i > 0; i--)
        {
            canvas.DrawText(words[random.Next(words.Length)], random.Next(width), random.Next(height), SKTextAlign.Left, font, paint);
        }
        paint.Color = SKColors.Black.WithAlpha(40);
        for (var i = width * height / 100; i > 0; i--)
        {
            canvas.DrawPoint(random.Next(width), random.Next(height), paint);
        }
    }
}
