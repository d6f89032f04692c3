using FerService.Inference.Classification;

namespace FerService.Evaluation;

/// <summary>Accuracy, per-class precision/recall/F1, confusion matrix and calibration from raw logits.</summary>
internal static class ClassificationMetrics
{
    public const int CalibrationBins = 15;

    /// <param name="logits">Count × classes, row-major.</param>
    /// <param name="flippedLogits">Optional logits of the horizontally mirrored images, averaged (as probabilities) for the flip figure.</param>
    public static ModelMetrics Compute(ReadOnlySpan<float> logits, ReadOnlySpan<float> flippedLogits, ReadOnlySpan<byte> labels,
        IReadOnlyList<string> labelNames, double temperature, string split)
    {
        var classes = labelNames.Count;
        var count = labels.Length;
        if (logits.Length != count * classes)
        {
            throw new ArgumentException("Logits must hold one row of class scores per label.", nameof(logits));
        }

        var confusion = new int[classes, classes];
        var probabilities = new float[classes];
        var mirrored = new float[classes];
        var flipCorrect = 0;
        for (var i = 0; i < count; i++)
        {
            var row = logits.Slice(i * classes, classes);
            confusion[labels[i], Softmax.ArgMax(row)]++;
            if (!flippedLogits.IsEmpty)
            {
                Softmax.Compute(row, probabilities, 1.0);
                Softmax.Compute(flippedLogits.Slice(i * classes, classes), mirrored, 1.0);
                for (var c = 0; c < classes; c++)
                {
                    probabilities[c] += mirrored[c];
                }
                flipCorrect += Softmax.ArgMax(probabilities) == labels[i] ? 1 : 0;
            }
        }

        var perClass = new ClassMetrics[classes];
        var correct = 0;
        double f1Sum = 0;
        for (var c = 0; c < classes; c++)
        {
            int truePositive = confusion[c, c], support = 0, predicted = 0;
            for (var k = 0; k < classes; k++)
            {
                support += confusion[c, k];
                predicted += confusion[k, c];
            }
            correct += truePositive;
            var precision = predicted == 0 ? 0 : (double)truePositive / predicted;
            var recall = support == 0 ? 0 : (double)truePositive / support;
            var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
            f1Sum += f1;
            perClass[c] = new ClassMetrics(labelNames[c], support, Round(precision), Round(recall), Round(f1));
        }

        var matrix = new int[classes][];
        for (var r = 0; r < classes; r++)
        {
            matrix[r] = new int[classes];
            for (var c = 0; c < classes; c++)
            {
                matrix[r][c] = confusion[r, c];
            }
        }

        return new ModelMetrics
        {
            Split = split,
            Count = count,
            Accuracy = Round(count == 0 ? 0 : (double)correct / count),
            AccuracyFlipAveraged = flippedLogits.IsEmpty ? 0 : Round((double)flipCorrect / count),
            MacroF1 = Round(f1Sum / classes),
            PerClass = perClass,
            ConfusionMatrix = matrix,
            NllBeforeCalibration = Round(NegativeLogLikelihood(logits, labels, classes, 1.0)),
            NllAfterCalibration = Round(NegativeLogLikelihood(logits, labels, classes, temperature)),
            EceBeforeCalibration = Round(ExpectedCalibrationError(logits, labels, classes, 1.0)),
            EceAfterCalibration = Round(ExpectedCalibrationError(logits, labels, classes, temperature)),
        };
    }

    public static double NegativeLogLikelihood(ReadOnlySpan<float> logits, ReadOnlySpan<byte> labels, int classes, double temperature)
    {
        double total = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var row = logits.Slice(i * classes, classes);
            double max = double.NegativeInfinity;
            foreach (var v in row)
            {
                max = Math.Max(max, v / temperature);
            }
            double sum = 0;
            foreach (var v in row)
            {
                sum += Math.Exp(v / temperature - max);
            }
            total += max + Math.Log(sum) - row[labels[i]] / temperature;
        }
        return labels.Length == 0 ? 0 : total / labels.Length;
    }

    /// <summary>ECE over <see cref="CalibrationBins"/> equal-width bins of the top-class confidence.</summary>
    public static double ExpectedCalibrationError(ReadOnlySpan<float> logits, ReadOnlySpan<byte> labels, int classes, double temperature)
    {
        Span<double> confidenceSum = stackalloc double[CalibrationBins];
        Span<int> correctCount = stackalloc int[CalibrationBins];
        Span<int> binCount = stackalloc int[CalibrationBins];
        Span<float> probabilities = stackalloc float[classes];
        for (var i = 0; i < labels.Length; i++)
        {
            Softmax.Compute(logits.Slice(i * classes, classes), probabilities, temperature);
            var predicted = Softmax.ArgMax(probabilities);
            var confidence = probabilities[predicted];
            var bin = Math.Min(CalibrationBins - 1, (int)(confidence * CalibrationBins));
            confidenceSum[bin] += confidence;
            correctCount[bin] += predicted == labels[i] ? 1 : 0;
            binCount[bin]++;
        }
        double ece = 0;
        for (var b = 0; b < CalibrationBins; b++)
        {
            if (binCount[b] > 0)
            {
                ece += Math.Abs(confidenceSum[b] / binCount[b] - (double)correctCount[b] / binCount[b]) * binCount[b] / labels.Length;
            }
        }
        return ece;
    }

    /// <summary>The temperature minimising validation NLL (golden-section search on log T, T in [0.05, 20]).</summary>
    public static double FitTemperature(ReadOnlySpan<float> logits, ReadOnlySpan<byte> labels, int classes)
    {
        double low = Math.Log(0.05), high = Math.Log(20);
        var ratio = (Math.Sqrt(5) - 1) / 2;
        var a = high - ratio * (high - low);
        var b = low + ratio * (high - low);
        var fa = NegativeLogLikelihood(logits, labels, classes, Math.Exp(a));
        var fb = NegativeLogLikelihood(logits, labels, classes, Math.Exp(b));
        for (var iteration = 0; iteration < 60; iteration++)
        {
            if (fa < fb)
            {
                high = b; b = a; fb = fa;
                a = high - ratio * (high - low);
                fa = NegativeLogLikelihood(logits, labels, classes, Math.Exp(a));
            }
            else
            {
                low = a; a = b; fa = fb;
                b = low + ratio * (high - low);
                fb = NegativeLogLikelihood(logits, labels, classes, Math.Exp(b));
            }
        }
        return Math.Round(Math.Exp((low + high) / 2), 4);
    }

    /// <summary>
    /// The uncertainty threshold of <see cref="ModelUncertainty"/>: faces ranked by their calibrated, flip-averaged top
    /// probability; the longest run from the top whose accuracy is still at least <paramref name="targetAccuracy"/>
    /// stays unflagged, and the threshold is the top probability of its last face.
    /// </summary>
    public static ModelUncertainty ChooseUncertainty(ReadOnlySpan<float> logits, ReadOnlySpan<float> flippedLogits, ReadOnlySpan<byte> labels,
        int classes, double temperature, string split, double targetAccuracy = 0.85)
    {
        var count = labels.Length;
        var faces = new (float Top, bool Correct)[count];
        var probabilities = new float[classes];
        var mirrored = new float[classes];
        for (var i = 0; i < count; i++)
        {
            Softmax.Compute(logits.Slice(i * classes, classes), probabilities, temperature);
            if (!flippedLogits.IsEmpty)
            {
                Softmax.Compute(flippedLogits.Slice(i * classes, classes), mirrored, temperature);
                for (var c = 0; c < classes; c++)
                {
                    probabilities[c] = (probabilities[c] + mirrored[c]) / 2;
                }
            }
            var best = Softmax.ArgMax(probabilities);
            faces[i] = (probabilities[best], best == labels[i]);
        }
        Array.Sort(faces, static (a, b) => b.Top.CompareTo(a.Top));
        int correct = 0, kept = 0, keptCorrect = 0;
        for (var n = 0; n < count; n++)
        {
            correct += faces[n].Correct ? 1 : 0;
            if (correct >= targetAccuracy * (n + 1))
            {
                (kept, keptCorrect) = (n + 1, correct);
            }
        }
        // Rounded down, so the last face kept stays at or above the written threshold.
        var threshold = kept == 0 ? 1.0 : Math.Floor(faces[kept - 1].Top * 1e4) / 1e4;
        var flagged = count - kept;
        return new ModelUncertainty(threshold, targetAccuracy, split, Round(count == 0 ? 0 : (double)flagged / count),
            Round(kept == 0 ? 0 : (double)keptCorrect / kept), Round(flagged == 0 ? 0 : (double)(correct - keptCorrect) / flagged));
    }

    private static double Round(double value) => Math.Round(value, 4);
}
