namespace FerService.Inference.Classification;

internal static class Softmax
{
    /// <summary>Numerically stable softmax of <paramref name="logits"/> / <paramref name="temperature"/>.</summary>
    public static void Compute(ReadOnlySpan<float> logits, Span<float> probabilities, double temperature)
    {
        if (probabilities.Length < logits.Length)
        {
            throw new ArgumentException("Destination is shorter than the logits.", nameof(probabilities));
        }
        var inverse = 1.0 / temperature;
        var max = float.NegativeInfinity;
        foreach (var v in logits)
        {
            max = Math.Max(max, v);
        }
        double sum = 0;
        for (var i = 0; i < logits.Length; i++)
        {
            var e = Math.Exp((logits[i] - max) * inverse);
            probabilities[i] = (float)e;
            sum += e;
        }
        for (var i = 0; i < logits.Length; i++)
        {
            probabilities[i] = (float)(probabilities[i] / sum);
        }
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }
        return best;
    }
}
