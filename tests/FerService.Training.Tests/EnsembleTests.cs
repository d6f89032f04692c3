using System.Security.Cryptography;
using System.Text.Json;
using FerService.Inference.Classification;
using FerService.Training.Onnx;
using static TorchSharp.torch;

namespace FerService.Training.Tests;

[Collection(TorchTests.Name)]
public sealed class EnsembleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-ensemble-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static EmotionNet Network(int seed, string spec)
    {
        random.manual_seed(seed);
        var model = new EmotionNet(spec, 7, 0.2, 0.3, hidden: 12);
        model.eval();
        return model;
    }

    [Theory]
    [InlineData("Probabilities")]
    [InlineData("Logits")]
    public void Build_TwoDifferentNetworks_OnnxRuntimeGivesTheAverageOfTheirOutputs(string averagingName)
    {
        var averaging = Enum.Parse<EnsembleAveraging>(averagingName);
        using var first = Network(1, "8,M,16,M");
        using var second = Network(2, "4,4,M,8,M,16,M");
        using var input = randn(6, 1, 48, 48);
        var a = OnnxExporter.Logits(OnnxExporter.Export(first, 48, 48, 7), input, 7, threads: 1);
        var b = OnnxExporter.Logits(OnnxExporter.Export(second, 48, 48, 7), input, 7, threads: 1);

        var ensemble = OnnxEnsembleGraph.Build([OnnxExporter.Export(first, 48, 48, 7), OnnxExporter.Export(second, 48, 48, 7)], averaging, 48, 48, 7);
        var actual = OnnxExporter.Logits(ensemble, input, 7, threads: 1);

        var (pa, pb, pe) = (new float[7], new float[7], new float[7]);
        for (var i = 0; i < 6; i++)
        {
            var row = i * 7;
            if (averaging == EnsembleAveraging.Logits)
            {
                for (var c = 0; c < 7; c++)
                {
                    Assert.Equal((a[row + c] + b[row + c]) / 2, actual[row + c], 4);
                }
                continue;
            }
            // The graph outputs log(mean probability): its softmax is the mean of the members' softmax.
            Softmax.Compute(a.AsSpan(row, 7), pa, 1);
            Softmax.Compute(b.AsSpan(row, 7), pb, 1);
            Softmax.Compute(actual.AsSpan(row, 7), pe, 1);
            for (var c = 0; c < 7; c++)
            {
                Assert.Equal((pa[c] + pb[c]) / 2, pe[c], 5);
            }
        }
    }

    [Fact]
    public void Build_OneMember_FailsWithMessage()
    {
        using var only = Network(1, "8,M");
        var error = Assert.Throws<ArgumentException>(() => OnnxEnsembleGraph.Build([OnnxExporter.Export(only, 48, 48, 7)], EnsembleAveraging.Logits, 48, 48, 7));
        Assert.Contains("at least two", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ensemble_TwoTrainedMembers_WritesVerifiedCardsForFloatAndInt8WithMembersAndLastJsonLine()
    {
        var data = TrainingTests.WriteSyntheticCsv(_directory, training: 70, publicTest: 21);
        var members = new List<string>();
        foreach (var (seed, arch) in new[] { ("7", "8,M,16,M"), ("8", "8,8,M,16,M") })
        {
            var models = Path.Combine(_directory, "member" + seed);
            using var log = new StringWriter();
            using var trainError = new StringWriter();
            var trained = Cli.Run(["train", "--data", data, "--out", models, "--epochs", "1", "--max-steps", "3", "--batch", "16",
                "--arch", arch, "--seed", seed, "--threads", "1"], log, trainError);
            Assert.True(trained == 0, trainError.ToString());
            members.Add(Path.Combine(models, "emotion-fer2013.onnx"));
        }

        var output = Path.Combine(_directory, "ensemble");
        using var written = new StringWriter();
        using var error = new StringWriter();
        var exit = Cli.Run(["ensemble", "--data", data, "--members", string.Join(',', members), "--out", output], written, error);

        Assert.True(exit == 0, error.ToString());
        foreach (var stem in new[] { "emotion-ensemble", "emotion-ensemble-int8" })
        {
            var card = ModelManifest.Load(Path.Combine(output, stem + ".json"));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(output, card.File)))), card.Sha256);
            Assert.Equal(2, card.Members!.Count);
            Assert.Equal(21, card.Metrics!.Count);
            Assert.NotNull(card.Uncertainty);
            Assert.All(card.Members, m => Assert.Matches("^[0-9a-f]{64}$", m.Sha256));
            // Both members by file name: the command keeps no directory of this machine, in comma lists either.
            Assert.Contains("--members emotion-fer2013.onnx,emotion-fer2013.onnx", card.Training!.Command, StringComparison.Ordinal);
            Assert.DoesNotContain(_directory, card.Training.Command, StringComparison.Ordinal);
        }
        using var json = JsonDocument.Parse(written.ToString().TrimEnd().Split('\n')[^1]);
        Assert.Equal("fer2013-ensemble2-int8", json.RootElement.GetProperty("model").GetString());
    }
}
