using System.IO.Compression;
using FerService.Evaluation;

namespace FerService.Inference.Tests.Evaluation;

public sealed class Fer2013ReaderTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-reader-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static string Row(int label, string usage, int seed) =>
        $"{label},{string.Join(' ', Enumerable.Range(0, 48 * 48).Select(i => (i + seed) % 256))},{usage}";

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllLines(path, ["emotion,pixels,Usage", .. lines]);
        return path;
    }

    [Fact]
    public void Read_CsvWithThreeUsages_SplitsAndKeepsOnlyRequested()
    {
        var path = Write("fer.csv", Row(3, "Training", 0), Row(5, "PublicTest", 1), Row(6, "PrivateTest", 2), Row(0, "Training", 3));
        var splits = Fer2013Reader.Read(path, ["Training", "PublicTest"]);
        Assert.Equal(2, splits["Training"].Count);
        Assert.Equal([3, 0], splits["Training"].Labels);
        Assert.Equal(5, splits["PublicTest"].Labels[0]);
        Assert.Equal(1, splits["PublicTest"].Image(0)[0]);
        Assert.False(splits.ContainsKey("PrivateTest"));
    }

    [Fact]
    public void Read_Gzip_SameAsCsv()
    {
        var csv = Write("fer.csv", Row(2, "Training", 9));
        var gz = Path.Combine(_directory, "fer.csv.gz");
        using (var output = new GZipStream(File.Create(gz), CompressionLevel.Fastest))
        using (var input = File.OpenRead(csv))
        {
            input.CopyTo(output);
        }
        Assert.Equal(Fer2013Reader.Read(csv, null)["Training"].Pixels, Fer2013Reader.Read(gz, null)["Training"].Pixels);
    }

    [Fact]
    public void Read_ShortPixelRow_ThrowsWithLineNumber()
    {
        var path = Write("bad.csv", Row(1, "Training", 0), "4,1 2 3,Training");
        var error = Assert.Throws<Fer2013FormatException>(() => Fer2013Reader.Read(path, null));
        Assert.Contains("bad.csv:3:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_LabelOutOfRange_Throws()
    {
        var path = Write("bad.csv", Row(9, "Training", 0));
        Assert.Throws<Fer2013FormatException>(() => Fer2013Reader.Read(path, null));
    }
}
