using FerService.Evaluation;

namespace FerService.Training.Tests;

public sealed class FerPlusVotesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ferplus-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static string Pixels => string.Join(' ', Enumerable.Repeat("128", 48 * 48));

    [Fact]
    public void Read_VotesAlignedByDataRow_GivesDistributionsInFer2013Order()
    {
        // Blank lines do not count as rows in either file; PublicTest's row 1 is skipped by asking for Training only.
        var fer = Write("fer.csv", "emotion,pixels,Usage", $"3,{Pixels},Training", "", $"0,{Pixels},PublicTest", $"6,{Pixels},Training");
        var votes = Write("ferplus.csv", "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF",
            "Training,fer0.png,0,8,2,0,0,0,0,0,0,0",
            "PublicTest,fer1.png,10,0,0,0,0,0,0,0,0,0",
            "",
            "Training,fer2.png,5,0,0,0,4,0,0,1,0,0");
        var split = Fer2013Reader.Read(fer, ["Training"])["Training"];

        var result = FerPlusVotes.Read(votes, split);

        // FER2013 order: angry, disgust, fear, happy, sad, surprise, neutral; contempt, unknown and NF are dropped.
        Assert.Equal([0, 0, 0, 0.8f, 0, 0.2f, 0], result[..7]);
        Assert.Equal([4 / 9f, 0, 0, 0, 0, 0, 5 / 9f], result[7..14]);
    }

    [Fact]
    public void Read_NotAVotesFile_ThrowsNamingTheHeader()
    {
        var fer = Write("fer.csv", "emotion,pixels,Usage", $"3,{Pixels},Training");
        var votes = Write("other.csv", "emotion,pixels,Usage", $"3,{Pixels},Training");
        var error = Assert.Throws<Fer2013FormatException>(() => FerPlusVotes.Read(votes, Fer2013Reader.Read(fer, null)["Training"]));
        Assert.Contains("other.csv:1: expected the header 'Usage,Image name,neutral", error.Message, StringComparison.Ordinal);
    }
}
