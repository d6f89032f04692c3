using System.Text.Json;
using FerService.Inference.Imaging;
using FerService.Tests.Shared;
using FerService.Training.Scenes;
using SkiaSharp;

namespace FerService.Training.Tests.Scenes;

public sealed class SceneTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(8)]
    public void Encode_ExifOrientation_DecodesToTheDisplayedImage(int orientation)
    {
        // Four flat quadrants of a 160×96 image: red, green / blue, white.
        using var displayed = new SKBitmap(160, 96, SKColorType.Rgba8888, SKAlphaType.Premul);
        using (var canvas = new SKCanvas(displayed))
        {
            using var paint = new SKPaint();
            foreach (var (x, y, color) in new[] { (0, 0, SKColors.Red), (80, 0, SKColors.Lime), (0, 48, SKColors.Blue), (80, 48, SKColors.White) })
            {
                paint.Color = color;
                canvas.DrawRect(x, y, 80, 48, paint);
            }
        }

        var encoded = SceneGenerator.Encode(displayed, orientation, jpeg: true, quality: 95);
        using var decoded = new SkiaImageDecoder().Decode(encoded, DecodeLimits.Default);

        Assert.Equal((160, 96), (decoded.Width, decoded.Height));
        foreach (var (x, y) in new[] { (40, 24), (120, 24), (40, 72), (120, 72) })
        {
            var expected = displayed.GetPixel(x, y);
            var p = decoded.Pixels.Slice((y * decoded.Width + x) * 4, 3);
            Assert.True(Math.Abs(p[0] - expected.Red) + Math.Abs(p[1] - expected.Green) + Math.Abs(p[2] - expected.Blue) < 30,
                $"({x},{y}): decoded {p[0]},{p[1]},{p[2]}, displayed {expected}");
        }
    }

    [Fer2013Fact]
    public void EvaluateScenes_PublicTestSlice_PrintsOneJsonLineWithRecallAndAccuracy()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var facesCsv = Path.Combine(Path.GetTempPath(), $"fer-faces-{Guid.NewGuid():N}.csv");
        var code = Cli.Run(["evaluate-scenes", "--data", TestPaths.Fer2013!, "--usage", "PublicTest", "--faces", "80", "--seed", "3", "--root", TestPaths.RepositoryRoot,
            "--faces-csv", facesCsv], output, error);

        Assert.True(code == 0, error.ToString());
        var lines = File.ReadAllLines(facesCsv);
        File.Delete(facesCsv);
        Assert.EndsWith(",label,sceneLabel,cropLabel", lines[0], StringComparison.Ordinal);
        var trueFaces = lines.Skip(1).Select(l => l.Split(',')).Where(f => f[1] != "-1").ToList();
        Assert.Equal(80, trueFaces.Count);
        // Each true face carries its label, the scene's (-1: missed) and its crop's.
        Assert.All(trueFaces, f => Assert.All(f[^3..], v => Assert.InRange(int.Parse(v, System.Globalization.CultureInfo.InvariantCulture), -1, 6)));
        using var json = JsonDocument.Parse(output.ToString().TrimEnd().Split('\n')[^1]);
        var root = json.RootElement;
        Assert.Equal(80, root.GetProperty("faces").GetInt32());
        // A broken detector, box mapping or EXIF handling finds far fewer; a broken crop labels like chance (1 in 7).
        Assert.InRange(root.GetProperty("foundAt04").GetDouble(), 0.8, 1.0);
        Assert.True(root.GetProperty("foundAt05").GetDouble() <= root.GetProperty("foundAt04").GetDouble());
        Assert.InRange(root.GetProperty("accuracyFound").GetDouble(), 0.45, 1.0);
        Assert.Equal(5, root.GetProperty("iouPercentiles").GetArrayLength());
    }

    [Fer2013Fact]
    public void EvaluateScenes_UnknownSetting_FailsWithMessage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = Cli.Run(["evaluate-scenes", "--data", TestPaths.Fer2013!, "--faces", "4", "--root", TestPaths.RepositoryRoot, "--set", "Detection:NoSuchThing=1"], output, error);
        Assert.Equal(1, code);
        Assert.Contains("Unknown setting", error.ToString(), StringComparison.Ordinal);
    }
}
