using FerService.Inference.Classification;

namespace FerService.Inference.Tests;

public sealed class ClassificationTests
{
    [Fact]
    public void Softmax_Logits_SumToOneAndKeepOrder()
    {
        var probabilities = new float[4];
        Softmax.Compute([1f, 3f, 2f, -1f], probabilities, 1.0);
        Assert.Equal(1f, probabilities.Sum(), 5);
        Assert.Equal(1, ClassificationMetrics.ArgMax(probabilities));
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
}
