using System.Security.Cryptography;
using System.Text.Json;
using FerService.Inference.Classification;
using FerService.Tests.Shared;
using Microsoft.ML.OnnxRuntime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FerService.Training.Tests;

public sealed class TrainingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-training-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    /// <summary>A tiny FER2013-format file: random faces whose brightness hints at the label, so a few steps can learn something.</summary>
    private string WriteSyntheticCsv(int training, int publicTest, int privateTest = 0)
    {
        var random = new Random(5);
        var path = Path.Combine(_directory, "fer2013.csv");
        using var writer = new StreamWriter(path);
        writer.WriteLine("emotion,pixels,Usage");
        foreach (var (usage, count) in new[] { ("Training", training), ("PublicTest", publicTest), ("PrivateTest", privateTest) })
        {
            for (var i = 0; i < count; i++)
            {
                var label = i % 7;
                var pixels = new string[48 * 48];
                for (var p = 0; p < pixels.Length; p++)
                {
                    pixels[p] = Math.Clamp(label * 30 + random.Next(60), 0, 255).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                writer.WriteLine($"{label},{string.Join(' ', pixels)},{usage}");
            }
        }
        return path;
    }

    [Fact]
    public void Export_SmallNetwork_OnnxRuntimeMatchesTorchWithin1e4()
    {
        random.manual_seed(3);
        using var model = new EmotionNet("8,M,16,16,M", 7, 0.2, 0.3, hidden: 12);
        using (no_grad())
        {
            // Non-trivial BatchNorm statistics, so the exported normalisation is really exercised.
            foreach (var bn in model.Layers.OfType<BatchNorm2d>())
            {
                bn.running_mean!.copy_(randn(bn.running_mean.shape) * 0.5);
                bn.running_var!.copy_(rand(bn.running_var.shape) + 0.5);
                bn.weight!.copy_(rand(bn.weight.shape) + 0.5);
                bn.bias!.copy_(randn(bn.bias.shape) * 0.1);
            }
        }
        model.eval();
        using var input = randn(5, 1, 48, 48);
        using var expected = model.forward(input);
        var torchLogits = expected.data<float>().ToArray();

        var onnx = OnnxExporter.Export(model, 48, 48, 7);
        using var session = new InferenceSession(onnx);
        var inputData = input.data<float>().ToArray();
        using var value = OrtValue.CreateTensorValueFromMemory(inputData, [5, 1, 48, 48]);
        using var outputs = session.Run(new RunOptions(), [OnnxExporter.InputName], [value], [OnnxExporter.OutputName]);
        var ortLogits = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        Assert.Equal(torchLogits.Length, ortLogits.Length);
        var maxDifference = 0f;
        for (var i = 0; i < torchLogits.Length; i++)
        {
            maxDifference = Math.Max(maxDifference, Math.Abs(torchLogits[i] - ortLogits[i]));
        }
        Assert.True(maxDifference <= 1e-4f, $"max |torch − ORT| = {maxDifference}");
        Assert.Equal([-1L, 1, 48, 48], session.InputMetadata[OnnxExporter.InputName].Dimensions.Select(d => (long)d));
    }

    [Theory]
    [InlineData("fp32")]
    [InlineData("bf16")]
    public void TrainThenEvaluate_TinySlice_WritesVerifiedModelCardAndJsonLastLine(string precision)
    {
        var data = WriteSyntheticCsv(training: 70, publicTest: 21, privateTest: 7);
        var models = Path.Combine(_directory, "models");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var trained = Cli.Run(["train", "--data", data, "--out", models, "--epochs", "2", "--max-steps", "4", "--batch", "16",
            "--arch", "8,M,16,M", "--seed", "7", "--threads", "1", "--precision", precision], output, error);

        Assert.True(trained == 0, error.ToString());
        Assert.Contains("epoch   1", output.ToString(), StringComparison.Ordinal);
        var card = ModelManifest.Load(Path.Combine(models, "emotion-fer2013.json"));
        var onnx = File.ReadAllBytes(Path.Combine(models, card.File));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(onnx)), card.Sha256);
        Assert.Equal(21, card.Metrics!.Count);
        Assert.True(card.Temperature > 0);

        using var evaluation = new StringWriter();
        var evaluated = Cli.Run(["evaluate", "--data", data, "--model", Path.Combine(models, "emotion-fer2013.onnx"), "--usage", "PublicTest",
            "--report-dir", Path.Combine(_directory, "report")], evaluation, error);
        Assert.True(evaluated == 0, error.ToString());
        var last = evaluation.ToString().TrimEnd().Split('\n')[^1];
        using var json = JsonDocument.Parse(last);
        Assert.Equal(21, json.RootElement.GetProperty("count").GetInt32());
        // train's own PublicTest accuracy and evaluate's (ORT, service preprocessing) must agree.
        Assert.Equal(card.Metrics.Accuracy, json.RootElement.GetProperty("accuracy").GetDouble(), 3);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_directory, "report"), "*.svg"));
    }

    [Fact]
    public void BFloat16Shadow_OneStep_LogitsAndGradientsFollowFp32()
    {
        random.manual_seed(11);
        EmotionNet NewNet() => new("8,M,16,M", 7, 0, 0, hidden: 12);
        using var master = NewNet();
        using var reference = NewNet();
        using (no_grad())
        {
            foreach (var (to, from) in reference.parameters().Zip(master.parameters()))
            {
                to.copy_(from);
            }
        }
        using var shadow = new BFloat16Shadow(master, NewNet);
        using var input = randn(6, 1, 48, 48);
        using var labels = tensor(new long[] { 0, 1, 2, 3, 4, 5 });

        reference.train();
        using var expected = reference.forward(input);
        nn.functional.cross_entropy(expected, labels).backward();
        using var actual = shadow.Forward(input);
        nn.functional.cross_entropy(actual, labels).backward();
        shadow.CollectGradients();

        Assert.Equal(ScalarType.Float32, actual.dtype);
        Assert.True((actual - expected).abs().max().item<float>() < 0.05f, "bf16 logits drifted from fp32");
        // bf16 keeps ~3 significant digits, so gradients must point the same way, not match bit for bit. Per tensor the
        // noise can be large where a gradient is small (the first conv, feeding BatchNorm, measured cosine ~0.5); the
        // whole gradient vector must agree (measured 0.95; a lost or misplaced gradient reads near 0).
        var pairs = master.parameters().Zip(reference.parameters()).ToArray();
        foreach (var (fromShadow, fromReference) in pairs)
        {
            var cosine = nn.functional.cosine_similarity(fromShadow.grad!.flatten(), fromReference.grad!.flatten(), dim: 0).item<float>();
            Assert.True(cosine > 0.3f, $"gradient cosine {cosine} over {fromShadow.numel()} values");
        }
        using var all = cat(pairs.Select(p => p.First.grad!.flatten()).ToArray());
        using var allReference = cat(pairs.Select(p => p.Second.grad!.flatten()).ToArray());
        var overall = nn.functional.cosine_similarity(all, allReference, dim: 0).item<float>();
        Assert.True(overall > 0.9f, $"whole-gradient cosine {overall}");
        // BatchNorm statistics gathered by the bf16 copy reach the master.
        var masterMean = master.Layers.OfType<BatchNorm2d>().First().running_mean!;
        var referenceMean = reference.Layers.OfType<BatchNorm2d>().First().running_mean!;
        Assert.True((masterMean - referenceMean).abs().max().item<float>() < 1e-2f);
        Assert.True(masterMean.abs().max().item<float>() > 0);
    }

    [Fact]
    public void Train_UnknownPrecision_FailsWithMessage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = Cli.Run(["train", "--data", WriteSyntheticCsv(7, 7), "--precision", "fp16"], output, error);
        Assert.Equal(1, code);
        Assert.Contains("--precision must be fp32 or bf16", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Train_MissingDataFile_FailsWithMessage()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = Cli.Run(["train", "--data", Path.Combine(_directory, "absent.csv")], output, error);
        Assert.Equal(1, code);
        Assert.Contains("does not exist", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedModel_CardSha256_MatchesOnnxFile()
    {
        var card = ModelManifest.Load(TestPaths.ClassifierManifest);
        var onnx = File.ReadAllBytes(Path.Combine(TestPaths.Models, card.File));
        Assert.Equal(card.Sha256, Convert.ToHexStringLower(SHA256.HashData(onnx)));
        Assert.Equal(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], card.Labels);
        // The temperature minimises NLL on PublicTest, so NLL cannot rise; ECE may move either way by a little.
        Assert.True(card.Metrics!.NllAfterCalibration <= card.Metrics.NllBeforeCalibration);
        Assert.InRange(card.Metrics.EceAfterCalibration, 0, 0.05);
    }
}
