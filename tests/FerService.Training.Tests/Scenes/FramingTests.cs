using FerService.Inference.Detection;
using FerService.Tests.Shared;
using FerService.Training.Scenes;
using static TorchSharp.torch;

namespace FerService.Training.Tests.Scenes;

[Collection(TorchTests.Name)]
public sealed class FramingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-framing-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    [Fact]
    public void FromBox_HalfSizeBoxInTheTopLeftQuadrant_HalfScaleQuarterShiftUpLeft()
    {
        var framing = FaceFraming.FromBox(3, new BoxF(0, 0, 24, 20), 48);

        Assert.Equal(3, framing.Row);
        Assert.Equal(0.5, framing.Scale, 6);
        Assert.Equal(-0.25, framing.ShiftX, 6);
        Assert.Equal(-0.2917, framing.ShiftY, 4);
    }

    [Fact]
    public void WriteThenRead_RowsPastTheSplit_RoundTripAndAreCounted()
    {
        var path = Path.Combine(_directory, "framing.csv");
        FaceFraming.Write(path, [new(0, 0.9, 0.01, -0.02), new(2, 1.25, -0.1, 0.05), new(5, 1.0, 0, 0)]);

        var framings = FaceFraming.Read(path, 4, out var beyond);

        Assert.Equal([new FaceFraming(0, 0.9, 0.01, -0.02), null, new FaceFraming(2, 1.25, -0.1, 0.05), null], framings);
        Assert.Equal(1, beyond);
    }

    [Theory]
    [InlineData("row,scale,shiftX,shiftY\n0,0.9,0.1\n", "framing.csv:2")]
    [InlineData("row,scale,shiftX,shiftY\n0,-1,0,0\n", "positive scale")]
    [InlineData("emotion,pixels,Usage\n", "not a framing file")]
    public void Read_MalformedFile_FailsWithWhere(string text, string expected)
    {
        var path = Path.Combine(_directory, "framing.csv");
        File.WriteAllText(path, text);

        var e = Assert.Throws<InvalidDataException>(() => FaceFraming.Read(path, 10, out _));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Augment_FramedSample_SamplesWhereTheServiceCrops()
    {
        // A bright top-left quadrant on black: the service's crop of it (half the side, a quarter up and left) is all bright.
        var pixels = new float[48 * 48];
        for (var y = 0; y < 24; y++)
        {
            for (var x = 0; x < 24; x++)
            {
                pixels[y * 48 + x] = 1;
            }
        }
        using var images = tensor(pixels, [1, 1, 48, 48]);
        FaceFraming?[] framing = [new FaceFraming(0, 0.5, -0.25, -0.25)];

        using var framed = Augmentation.Augment(images, 48, 0, JitterKind.Standard, new Random(1), framing, framingShare: 1);
        using var unframed = Augmentation.Augment(images, 48, 0, JitterKind.Standard, new Random(1), framing, framingShare: 0);

        var framedMean = framed.mean().item<float>();
        Assert.True(framedMean > 0.75f, $"framed mean {framedMean}");
        Assert.InRange(unframed.mean().item<float>(), 0.1f, 0.45f);
    }

    [Fact]
    public void Train_WithFraming_CardRecipeNamesTheFile()
    {
        var data = TrainingTests.WriteSyntheticCsv(_directory, training: 40, publicTest: 14);
        var framingPath = Path.Combine(_directory, "framing-training.csv");
        FaceFraming.Write(framingPath, Enumerable.Range(0, 40).Select(r => new FaceFraming(r, 0.8 + r % 5 * 0.1, 0.02, -0.03)));
        var models = Path.Combine(_directory, "models");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var trained = Cli.Run(["train", "--data", data, "--out", models, "--epochs", "1", "--max-steps", "2", "--batch", "16",
            "--arch", "8,M,16,M", "--seed", "7", "--threads", "1", "--framing", framingPath, "--framing-share", "0.5"], output, error);

        Assert.True(trained == 0, error.ToString());
        Assert.Contains("framing from framing-training.csv: 40 of 40 Training faces", output.ToString(), StringComparison.Ordinal);
        var card = Inference.Classification.ModelManifest.Load(Path.Combine(models, "emotion-fer2013.json"));
        Assert.Contains("framing-training.csv", card.Training!.Recipe!["serviceFraming"], StringComparison.Ordinal);
        // The paths given were absolute: the card keeps their file names, not this machine's directories.
        Assert.Contains("--framing framing-training.csv ", card.Training.Command, StringComparison.Ordinal);
        Assert.DoesNotContain(_directory, card.Training.Command, StringComparison.Ordinal);
    }

    [Fer2013Fact]
    public void Framing_FirstTrainingFaces_MostFramedNearTheFerSquare()
    {
        var path = Path.Combine(_directory, "framing.csv");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = Cli.Run(["framing", "--data", TestPaths.Fer2013!, "--usage", "Training", "--max-rows", "48", "--out", path,
            "--root", TestPaths.RepositoryRoot], output, error);

        Assert.True(code == 0, error.ToString());
        var framings = FaceFraming.Read(path, 48, out var beyond);
        var found = framings.OfType<FaceFraming>().ToList();
        Assert.Equal(0, beyond);
        // Faces alone on a plain canvas: BlazeFace finds nearly all; its crop is near the square, not a detection elsewhere.
        Assert.InRange(found.Count, 44, 48);
        var scales = found.Select(f => f.Scale).Order().ToList();
        Assert.InRange(scales[scales.Count / 2], 0.8, 1.2);
        Assert.All(found, f => Assert.InRange(Math.Abs(f.ShiftX) + Math.Abs(f.ShiftY), 0, 0.6));
    }
}
