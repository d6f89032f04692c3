using System.Text.Json;
using FerService.Tests.Shared;
using FerService.Training.Photos;

namespace FerService.Training.Tests.Photos;

public sealed class PhotoTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-photos-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(1, 1, "portrait", 1, 0)]
    [InlineData(1, 1, "portrait", 2, 1)]
    [InlineData(1, 1, "portrait", 0, -1)]
    [InlineData(6, 7, "group", 7, 0)]
    [InlineData(6, 7, "group", 5, -1)]
    [InlineData(0, 0, "noface", 1, 1)]
    [InlineData(2, 2, "drawn", 0, 0)]
    [InlineData(2, 2, "drawn", 1, -1)]
    [InlineData(1, 1, "portrait", -1, -1)]
    public void Verdict_CountAgainstLabel_RightOverOrUnder(int min, int max, string kind, int count, int expected) =>
        Assert.Equal(expected, PhotoEvaluator.Verdict(new PhotoLabel(min, max, kind), count));

    [Theory]
    [InlineData("""{"images":{"a.jpg":{"min":2,"max":1,"kind":"group"}}}""")]
    [InlineData("""{"images":{"a.jpg":{"min":1,"max":1}}}""")]
    [InlineData("""{"images":{}}""")]
    [InlineData("""{"about":"no images"}""")]
    public void ReadLabels_Malformed_ThrowsInvalidData(string json)
    {
        var path = Path.Combine(_directory, "labels.json");
        File.WriteAllText(path, json);

        Assert.Throws<InvalidDataException>(() => PhotoEvaluator.ReadLabels(path));
    }

    [Fact]
    public void EvaluatePhotos_MissingFolder_ExitsWithAClearError()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = Cli.Run(["evaluate-photos", "--photos", Path.Combine(_directory, "absent"), "--root", TestPaths.RepositoryRoot], output, error);

        Assert.Equal(1, code);
        Assert.Contains("labels.json", error.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The real-photo bar the default detector was chosen by (docs/decisions/detector.md): a regression guard.</summary>
    [RealFacesFact]
    public void EvaluatePhotos_RealPhotosWithDefaults_CountsAtLeast119RightAndNoPortraitTwice()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var csv = Path.Combine(_directory, "photos.csv");

        var code = Cli.Run(["evaluate-photos", "--photos", TestPaths.RealFaces!, "--root", TestPaths.RepositoryRoot, "--csv", csv], output, error);

        Assert.True(code == 0, error.ToString());
        using var json = JsonDocument.Parse(output.ToString().TrimEnd().Split('\n')[^1]);
        var root = json.RootElement;
        var images = root.GetProperty("images").GetInt32();
        Assert.Equal(File.ReadAllLines(csv).Length - 1, images);
        Assert.Equal(images, root.GetProperty("right").GetInt32() + root.GetProperty("over").GetInt32() + root.GetProperty("under").GetInt32());
        Assert.Equal(0, root.GetProperty("failed").GetInt32());
        Assert.True(root.GetProperty("right").GetInt32() >= 119, output.ToString());
        Assert.Equal(0, root.GetProperty("portraitsWithExtraFace").GetInt32());
        Assert.True(root.GetProperty("cpuMsPerImage").GetDouble() > 0);
    }
}
