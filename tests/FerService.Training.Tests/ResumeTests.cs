using System.Text.Json;
using static TorchSharp.torch;

namespace FerService.Training.Tests;

/// <summary>A run stopped at an epoch and resumed from its folder ends where the same run straight through ends.</summary>
[Collection(TorchTests.Name)]
public sealed class ResumeTests : IDisposable
{
    private const string Architecture = "8,M,16,M";
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-resume-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private string[] Train(string name, params string[] extra) =>
    [
        "train", "--data", Path.Combine(_directory, "fer2013.csv"), "--out", Path.Combine(_directory, name, "models"),
        "--run-dir", Path.Combine(_directory, name, "run"), "--epochs", "4", "--batch", "16", "--arch", Architecture,
        "--seed", "11", "--threads", "1", .. extra,
    ];

    private static int Run(string[] args, out string log)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = Cli.Run(args, output, error);
        log = output + error.ToString();
        return code;
    }

    [Fact]
    public void Train_StoppedAfterTwoEpochsThenResumed_SameWeightsAsFourEpochsStraight()
    {
        TrainingTests.WriteSyntheticCsv(_directory, training: 64, publicTest: 14);

        Assert.True(Run(Train("straight"), out var straightLog) == 0, straightLog);
        Assert.True(Run(Train("split", "--stop-after-epochs", "2"), out var stoppedLog) == 0, stoppedLog);
        var splitRun = Path.Combine(_directory, "split", "run");
        using (var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(splitRun, "run.json"))))
        {
            Assert.Equal(2, state.RootElement.GetProperty("epoch").GetInt32());
        }
        Assert.False(File.Exists(Path.Combine(_directory, "split", "models", "emotion-fer2013.onnx")), "a stopped run exports nothing");
        Assert.True(Run(["train", "--resume", splitRun], out var resumedLog) == 0, resumedLog);

        Assert.Contains("resuming", resumedLog, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_directory, "split", "models", "emotion-fer2013.onnx")), "the resumed run exports as the straight one does");
        foreach (var file in new[] { "model.bin", "ema.bin" })
        {
            AssertSameWeights(Path.Combine(_directory, "straight", "run", file), Path.Combine(splitRun, file));
        }
    }

    [Fact]
    public void Train_ResumeFromAFolderWithoutARun_FailsNamingIt()
    {
        var code = Run(["train", "--resume", _directory], out var log);

        Assert.Equal(1, code);
        Assert.Contains("run.json", log, StringComparison.Ordinal);
    }

    private static void AssertSameWeights(string expectedPath, string actualPath)
    {
        using var expected = new EmotionNet(Architecture, 7, 0.2, 0.3);
        using var actual = new EmotionNet(Architecture, 7, 0.2, 0.3);
        expected.load(expectedPath);
        actual.load(actualPath);
        var theirs = expected.state_dict();
        foreach (var (name, value) in actual.state_dict())
        {
            Assert.True(value.allclose(theirs[name], rtol: 1e-5, atol: 1e-6), $"{Path.GetFileName(actualPath)}: {name} differs after resuming");
        }
    }
}
