using System.Security.Cryptography;
using System.Text.Json;
using FerService.Inference.Classification;
using FerService.Tests.Shared;
using Microsoft.ML.OnnxRuntime;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FerService.Training.Tests;

[Collection(TorchTests.Name)]
public sealed class TrainingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-training-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    /// <summary>A tiny FER2013-format file: random faces whose brightness hints at the label, so a few steps can learn something.</summary>
    private string WriteSyntheticCsv(int training, int publicTest, int privateTest = 0) => WriteSyntheticCsv(_directory, training, publicTest, privateTest);

    internal static string WriteSyntheticCsv(string directory, int training, int publicTest, int privateTest = 0)
    {
        var random = new Random(5);
        var path = Path.Combine(directory, "fer2013.csv");
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

    /// <summary>A small net with non-trivial BatchNorm statistics, so the exported normalisation is really exercised.</summary>
    private static EmotionNet SmallNetwork(string spec = "8,M,16,16,M")
    {
        random.manual_seed(3);
        var model = new EmotionNet(spec, 7, 0.2, 0.3, hidden: 12);
        using (no_grad())
        {
            foreach (var bn in model.Layers.OfType<BatchNorm2d>())
            {
                bn.running_mean!.copy_(randn(bn.running_mean.shape) * 0.5);
                bn.running_var!.copy_(rand(bn.running_var.shape) + 0.5);
                bn.weight!.copy_(rand(bn.weight.shape) + 0.5);
                bn.bias!.copy_(randn(bn.bias.shape) * 0.1);
            }
        }
        model.eval();
        return model;
    }

    [Theory]
    [InlineData("8,M,16,16,M")] // global average pool
    [InlineData("8,M,16,16,M,F")] // the 12×12 map flattened
    public void Export_SmallNetwork_OnnxRuntimeMatchesTorchWithin1e4(string spec)
    {
        using var model = SmallNetwork(spec);
        using var input = randn(5, 1, 48, 48);
        using var expected = model.forward(input);
        var torchLogits = expected.data<float>().ToArray();

        var onnx = OnnxExporter.Export(model, 48, 48, 7);
        var ortLogits = OnnxExporter.Logits(onnx, input, 7, threads: 1);

        Assert.Equal(torchLogits.Length, ortLogits.Length);
        var maxDifference = 0f;
        for (var i = 0; i < torchLogits.Length; i++)
        {
            maxDifference = Math.Max(maxDifference, Math.Abs(torchLogits[i] - ortLogits[i]));
        }
        Assert.True(maxDifference <= 1e-4f, $"max |torch − ORT| = {maxDifference}");
        using var session = new InferenceSession(onnx);
        Assert.Equal([-1L, 1, 48, 48], session.InputMetadata[OnnxExporter.InputName].Dimensions.Select(d => (long)d));
    }

    [Fact]
    public void Int8Export_SmallNetwork_OnnxRuntimeFusesIntegerConvsAndTracksFloatLogits()
    {
        using var model = SmallNetwork();
        // Grey images in [0, 1], normalised as the card says (mean 0.5, std 0.25): the int8 input covers exactly that range.
        using var calibration = (rand(64, 1, 48, 48) - 0.5) / 0.25;
        using var input = (rand(32, 1, 48, 48) - 0.5) / 0.25;
        var ranges = Int8Exporter.Calibrate(model, calibration);
        Assert.Equal(3, ranges.Length);
        Assert.All(ranges, r => Assert.True(r > 0));

        var int8 = Int8Exporter.Export(model, 48, 48, 7, ranges, 0.5, 0.25);
        foreach (var initializer in Inference.Onnx.OnnxModelReader.Initializers(int8).Where(i => i.DataType == Onnx.OnnxGraphBuilder.Int8Type))
        {
            Assert.All(initializer.SBytes.ToArray(), w => Assert.InRange(w, -Int8Exporter.WeightLimit, Int8Exporter.WeightLimit));
        }
        var expected = ModelScoring.Logits(model, input);
        var actual = OnnxExporter.Logits(int8, input, 7, threads: 1);
        // Error against how much the logits vary from image to image (each class's own mean taken out: the biases say nothing).
        double error = 0, signal = 0;
        for (var c = 0; c < 7; c++)
        {
            var mean = 0.0;
            for (var i = c; i < expected.Length; i += 7)
            {
                mean += expected[i] / 32.0;
            }
            for (var i = c; i < expected.Length; i += 7)
            {
                error += Math.Pow(actual[i] - expected[i], 2);
                signal += Math.Pow(expected[i] - mean, 2);
            }
        }
        // Measured 0.09 here; a wrong scale, zero point or folded BatchNorm gives errors of the order of the signal.
        Assert.True(Math.Sqrt(error / signal) < 0.25, $"relative RMS error of int8 logits {Math.Sqrt(error / signal):F4}");

        // The speed comes only if ONNX Runtime turns each DequantizeLinear → Conv → ReLU → QuantizeLinear into an integer conv.
        var optimised = Path.Combine(_directory, "optimised.onnx");
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimised })
        using (new InferenceSession(int8, options))
        {
        }
        // Searched as encoded op_type fields (tag 0x22, then the length), so node names cannot match.
        var text = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(optimised));
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Count(text, "\"\u000BQLinearConv"));
        Assert.DoesNotContain("\"\u0004Conv", text, StringComparison.Ordinal);
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
        foreach (var (cardFile, modelFile) in new[] { ("emotion-fer2013.json", "emotion-fer2013.onnx"), ("emotion-fer2013-int8.json", "emotion-fer2013-int8.onnx") })
        {
            var card = ModelManifest.Load(Path.Combine(models, cardFile));
            var onnx = File.ReadAllBytes(Path.Combine(models, card.File));
            Assert.Equal(modelFile, card.File);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(onnx)), card.Sha256);
            Assert.Equal(21, card.Metrics!.Count);
            Assert.True(card.Temperature > 0);
            Assert.Equal("soft cross-entropy against the label smoothed 0.1", card.Training!.Recipe!["loss"]);

            using var evaluation = new StringWriter();
            var evaluated = Cli.Run(["evaluate", "--data", data, "--model", Path.Combine(models, modelFile), "--usage", "PublicTest",
                "--report-dir", Path.Combine(_directory, "report")], evaluation, error);
            Assert.True(evaluated == 0, error.ToString());
            var last = evaluation.ToString().TrimEnd().Split('\n')[^1];
            using var json = JsonDocument.Parse(last);
            Assert.Equal(21, json.RootElement.GetProperty("count").GetInt32());
            // train's own PublicTest accuracy and evaluate's (ORT, service preprocessing) must agree.
            Assert.Equal(card.Metrics.Accuracy, json.RootElement.GetProperty("accuracy").GetDouble(), 3);
        }
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
    public void UseChannelsLast_SmallNetwork_SameLogitsAndGradientsAsNchw()
    {
        random.manual_seed(13);
        using var nchw = new EmotionNet("8,M,16,M", 7, 0, 0, hidden: 12);
        using var nhwc = new EmotionNet("8,M,16,M", 7, 0, 0, hidden: 12);
        using (no_grad())
        {
            foreach (var (to, from) in nhwc.parameters().Zip(nchw.parameters()))
            {
                to.copy_(from);
            }
        }
        nhwc.UseChannelsLast();
        using var input = randn(6, 1, 48, 48);
        using var labels = tensor(new long[] { 0, 1, 2, 3, 4, 5 });

        using var expected = nchw.forward(input);
        nn.functional.cross_entropy(expected, labels).backward();
        using var actual = nhwc.forward(input);
        nn.functional.cross_entropy(actual, labels).backward();

        var convWeights = nhwc.Layers.OfType<Conv2d>().Select(c => c.weight!).ToArray();
        Assert.Contains(convWeights, w => !w.is_contiguous()); // the layout really changed (a 1-channel input conv may look contiguous)
        Assert.True((actual - expected).abs().max().item<float>() < 1e-4f, "channels-last logits differ");
        foreach (var (mine, theirs) in nhwc.parameters().Zip(nchw.parameters()))
        {
            Assert.True((mine.grad! - theirs.grad!).abs().max().item<float>() < 1e-4f, $"gradient differs over {mine.numel()} values");
        }
    }

    [Fact]
    public void Train_LayoutNhwc_WritesTheCheckpointAndBothModels()
    {
        var data = WriteSyntheticCsv(64, 32);
        var models = Path.Combine(_directory, "nhwc");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = Cli.Run(["train", "--data", data, "--epochs", "1", "--max-steps", "2", "--batch", "16", "--arch", "8,M,16,M", "--threads", "1",
            "--layout", "nhwc", "--out", models], output, error);

        Assert.True(exit == 0, error.ToString());
        Assert.Contains("channels-last", output.ToString(), StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(models, BestCheckpoint.FileName)));
        Assert.True(File.Exists(Path.Combine(models, "emotion-fer2013-int8.onnx")));
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

    [Theory]
    [InlineData("--ferplus-weight", "0.3")]
    [InlineData("--mixup", "0.2")]
    [InlineData("--teacher", "models/emotion-fer2013.onnx")]
    [InlineData("--recalibrate-bn", "true")]
    public void Train_RemovedOption_FailsSayingItWasRemoved(string option, string value)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = Cli.Run(["train", "--data", WriteSyntheticCsv(7, 7), option, value], output, error);
        Assert.Equal(1, code);
        Assert.Contains($"{option} was removed", error.ToString(), StringComparison.Ordinal);
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

    [Theory]
    [InlineData("emotion-fer2013.json")]
    [InlineData("emotion-fer2013-int8.json")]
    public void ShippedModel_CardSha256_MatchesOnnxFile(string cardFile)
    {
        var card = ModelManifest.Load(Path.Combine(TestPaths.Models, cardFile));
        var onnx = File.ReadAllBytes(Path.Combine(TestPaths.Models, card.File));
        Assert.Equal(card.Sha256, Convert.ToHexStringLower(SHA256.HashData(onnx)));
        Assert.Equal(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], card.Labels);
        // The temperature minimises NLL on PublicTest, so NLL cannot rise; ECE may move either way by a little.
        Assert.True(card.Metrics!.NllAfterCalibration <= card.Metrics.NllBeforeCalibration);
        Assert.InRange(card.Metrics.EceAfterCalibration, 0, 0.05);
        Assert.Contains(ModelCardText.ResponsibleUse, card.Limitations!);
        Assert.NotNull(card.Uncertainty);
    }

    [Fact]
    public void ShippedInt8Models_EveryWeight_FitsInSevenBits()
    {
        // Without VNNI, x86 adds two uint8 × int8 products in int16 (VPMADDUBSW): 8-bit weights can saturate there.
        var int8Tensors = 0;
        foreach (var path in Directory.GetFiles(TestPaths.Models, "*.onnx"))
        {
            foreach (var initializer in Inference.Onnx.OnnxModelReader.Initializers(File.ReadAllBytes(path)))
            {
                if (initializer.DataType != Onnx.OnnxGraphBuilder.Int8Type)
                {
                    continue;
                }
                int8Tensors++;
                foreach (var value in initializer.SBytes)
                {
                    Assert.True(value is >= -64 and <= 63, $"{Path.GetFileName(path)}: {initializer.Name} holds {value}, more than 7 bits");
                }
            }
        }
        Assert.True(int8Tensors > 0, "no int8 model in models/");
    }

    [Fer2013Fact]
    public void ShippedInt8Model_OnThisCpu_TracksFloat32WithinHalfAPoint()
    {
        var accuracies = new Dictionary<string, (double Single, double Flipped)>();
        foreach (var model in new[] { "emotion-fer2013.onnx", "emotion-fer2013-int8.onnx" })
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = Cli.Run(["evaluate", "--data", TestPaths.Fer2013!, "--model", Path.Combine(TestPaths.Models, model), "--usage", "PublicTest"], output, error);
            Assert.True(code == 0, error.ToString());
            using var json = JsonDocument.Parse(output.ToString().TrimEnd().Split('\n')[^1]);
            accuracies[model] = (json.RootElement.GetProperty("accuracy").GetDouble(), json.RootElement.GetProperty("accuracyFlipAveraged").GetDouble());
        }
        var (floatSingle, floatFlipped) = accuracies["emotion-fer2013.onnx"];
        var (int8Single, int8Flipped) = accuracies["emotion-fer2013-int8.onnx"];
        var message = $"PublicTest on this CPU: int8 {int8Single:P2} / {int8Flipped:P2} flip-averaged, float32 {floatSingle:P2} / {floatFlipped:P2}";
        Assert.True(int8Single >= floatSingle - 0.005, message);
        Assert.True(int8Flipped >= floatFlipped - 0.005, message);
    }

    [Fact]
    public void OnnxWeightLoader_ExportedSmallNetwork_ReproducesItsLogits()
    {
        using var model = SmallNetwork();
        var onnx = OnnxExporter.Export(model, 48, 48, 7);
        random.manual_seed(11);
        using var reloaded = new EmotionNet(model.Spec, 7, 0.2, 0.3, hidden: 12);
        Onnx.OnnxWeightLoader.Load(reloaded, Inference.Onnx.OnnxModelReader.Initializers(onnx));
        reloaded.eval();

        using var input = randn(4, 1, 48, 48);
        var expected = ModelScoring.Logits(model, input);
        var actual = ModelScoring.Logits(reloaded, input);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 5);
        }
        using var wider = new EmotionNet("8,M,16,32,M", 7, 0.2, 0.3, hidden: 12);
        var failure = Assert.Throws<InvalidDataException>(() => Onnx.OnnxWeightLoader.Load(wider, Inference.Onnx.OnnxModelReader.Initializers(onnx)));
        Assert.Contains("expects", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ShippedInt8Model_QuantisesTheShippedFloatModel_WithinHalfAPoint()
    {
        var card = ModelManifest.Load(TestPaths.ClassifierManifest);
        var int8 = ModelManifest.Load(Path.Combine(TestPaths.Models, "emotion-fer2013-int8.json"));
        Assert.Contains(card.Sha256, int8.Training!.Recipe!["quantization"], StringComparison.Ordinal);
        Assert.True(int8.Metrics!.Accuracy >= card.Metrics!.Accuracy - 0.005,
            $"int8 {int8.Metrics.Accuracy:P2} vs float32 {card.Metrics.Accuracy:P2} on PublicTest");
    }
}
