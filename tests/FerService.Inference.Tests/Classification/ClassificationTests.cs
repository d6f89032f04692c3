using FerService.Evaluation;
using FerService.Inference.Classification;

namespace FerService.Inference.Tests.Classification;

public sealed class ClassificationTests
{
    [Fact]
    public void Softmax_Logits_SumToOneAndKeepOrder()
    {
        var probabilities = new float[4];
        Softmax.Compute([1f, 3f, 2f, -1f], probabilities, 1.0);
        Assert.Equal(1f, probabilities.Sum(), 5);
        Assert.Equal(1, Softmax.ArgMax(probabilities));
        Assert.Equal(MathF.Exp(1) / (MathF.Exp(1) + MathF.Exp(3) + MathF.Exp(2) + MathF.Exp(-1)), probabilities[0], 5);
    }

    [Fact]
    public void Softmax_HugeLogits_StayFinite()
    {
        var probabilities = new float[2];
        Softmax.Compute([1000f, 999f], probabilities, 1.0);
        Assert.Equal(1 / (1 + MathF.Exp(-1)), probabilities[0], 5);
    }

    [Fact]
    public void Softmax_TemperatureBelowOne_Sharpens()
    {
        var plain = new float[3];
        var sharp = new float[3];
        Softmax.Compute([2f, 1f, 0f], plain, 1.0);
        Softmax.Compute([2f, 1f, 0f], sharp, 0.5);
        Assert.True(sharp[0] > plain[0]);
    }

    [Fact]
    public void FitTemperature_OverconfidentLogits_FindsTemperatureAboveOneAndLowersNll()
    {
        // Logits that are right 70% of the time but claim ~99%: the fitted temperature must soften them.
        const int classes = 3, count = 300;
        var logits = new float[count * classes];
        var labels = new byte[count];
        var random = new Random(7);
        for (var i = 0; i < count; i++)
        {
            labels[i] = (byte)random.Next(classes);
            var predicted = random.NextDouble() < 0.7 ? labels[i] : (labels[i] + 1) % classes;
            logits[i * classes + predicted] = 6f;
        }
        var temperature = ClassificationMetrics.FitTemperature(logits, labels, classes);
        Assert.True(temperature > 1.5, $"temperature {temperature}");
        Assert.True(ClassificationMetrics.NegativeLogLikelihood(logits, labels, classes, temperature)
            < ClassificationMetrics.NegativeLogLikelihood(logits, labels, classes, 1.0));
        Assert.True(ClassificationMetrics.ExpectedCalibrationError(logits, labels, classes, temperature)
            < ClassificationMetrics.ExpectedCalibrationError(logits, labels, classes, 1.0));
    }

    [Fact]
    public void Compute_KnownPredictions_AccuracyConfusionAndF1()
    {
        // 7 classes; four samples: two right (happy, sad), one happy predicted as neutral, one angry right.
        var logits = new float[4 * 7];
        byte[] labels = [3, 4, 3, 0];
        int[] predicted = [3, 4, 6, 0];
        for (var i = 0; i < 4; i++)
        {
            logits[i * 7 + predicted[i]] = 5;
        }
        var metrics = ClassificationMetrics.Compute(logits, logits, labels, ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], 1.0, "test");
        Assert.Equal(0.75, metrics.Accuracy, 5);
        Assert.Equal(1, metrics.ConfusionMatrix![3][6]);
        Assert.Equal(1, metrics.ConfusionMatrix[3][3]);
        var happy = metrics.PerClass!.Single(c => c.Label == "happy");
        Assert.Equal(1.0, happy.Precision, 5);
        Assert.Equal(0.5, happy.Recall, 5);
    }

    [Fact]
    public void ChooseUncertainty_RankedFaces_KeepsTheLongestRunAtTheTargetAccuracy()
    {
        // Ten faces, two classes; top probabilities 0.95 … 0.50 in steps of 0.05, right or wrong as marked.
        bool[] right = [true, true, true, false, true, true, true, false, false, true];
        var logits = new float[right.Length * 2];
        var labels = new byte[right.Length];
        for (var i = 0; i < right.Length; i++)
        {
            var top = 0.95 - 0.05 * i;
            logits[i * 2] = (float)Math.Log(top / (1 - top)); // softmax of (l, 0) gives top for class 0
            labels[i] = (byte)(right[i] ? 0 : 1);
        }

        var uncertainty = ClassificationMetrics.ChooseUncertainty(logits, [], labels, 2, temperature: 1, "test", targetAccuracy: 0.8);

        // Runs from the top: 3/3, 3/4, 4/5, 5/6, 6/7 = 0.857, 6/8, 6/9, 7/10: the longest at ≥ 0.8 is the first seven.
        Assert.Equal(0.65, uncertainty.Threshold, 3);
        Assert.Equal(0.3, uncertainty.ShareFlagged, 4);
        Assert.Equal(6 / 7.0, uncertainty.AccuracyNotFlagged, 4);
        Assert.Equal(1 / 3.0, uncertainty.AccuracyFlagged, 4);
        var card = new ModelManifest
        {
            Name = "t", Version = "1", File = "t.onnx", Sha256 = "0", OutputName = "logits", Labels = ["a", "b"],
            Input = new ModelInput { Name = "input", Shape = [-1, 1, 48, 48], Channels = 1, Width = 48, Height = 48, Mean = [0.5], Std = [0.25] },
            Uncertainty = uncertainty,
        };
        Assert.False(card.IsUncertain([0.66f, 0.34f]));
        Assert.True(card.IsUncertain([0.36f, 0.64f]));
        Assert.False((card with { Uncertainty = null }).IsUncertain([0.5f, 0.5f]));
    }

    [Theory]
    [InlineData("NHWC", 1, 48)]
    [InlineData("NCHW", 1, 40)]
    [InlineData("NCHW", 3, 48)]
    public void EmotionClassifier_CardLayoutOrShapeUnlikeTheModel_RefusesToLoad(string layout, int channels, int side)
    {
        var directory = Directory.CreateTempSubdirectory("fer-card-").FullName;
        try
        {
            var card = ModelManifest.Load(FerService.Tests.Shared.TestPaths.ServiceClassifierManifest);
            File.Copy(Path.Combine(FerService.Tests.Shared.TestPaths.Models, card.File), Path.Combine(directory, card.File));
            var path = Path.Combine(directory, "card.json");
            (card with { Input = card.Input with { Layout = layout, Channels = channels, Width = side, Height = side, Shape = [-1, channels, side, side],
                Mean = [.. Enumerable.Repeat(card.Input.Mean[0], channels)], Std = [.. Enumerable.Repeat(card.Input.Std[0], channels)] } }).Save(path);
            var sessions = new FerService.Inference.Onnx.OnnxSessionFactory(
                Microsoft.Extensions.Options.Options.Create(new FerService.Inference.Onnx.OnnxOptions()),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<FerService.Inference.Onnx.OnnxSessionFactory>.Instance);
            var error = Assert.Throws<InvalidDataException>(() => new EmotionClassifier(path, sessions));
            Assert.Contains("manifest says", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }
}
