using static TorchSharp.torch;

namespace FerService.Training;

/// <summary><c>--recalibrate-bn</c>: BatchNorm statistics re-estimated on the clean Training faces before export.</summary>
internal static class BatchNormRecalibration
{
    /// <summary>
    /// Replaces every BatchNorm's running mean and variance with their average over <paramref name="pixels"/> (raw [0, 1]
    /// faces), each batch weighted by its rows. Weights are untouched; the model is left in eval mode.
    /// </summary>
    public static void Recalibrate(EmotionNet model, Tensor pixels, double mean, double std)
    {
        var norms = model.modules().OfType<TorchSharp.Modules.BatchNorm2d>().ToArray();
        var momenta = norms.Select(norm => norm.momentum).ToArray();
        using var _ = no_grad();
        model.train();
        var count = pixels.shape[0];
        for (long start = 0; start < count; start += ModelScoring.Batch)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(ModelScoring.Batch, count - start);
            // running = (1 − m) · running + m · batch with m = rows / rows so far: a row-weighted running average.
            foreach (var norm in norms)
            {
                norm.momentum = (double)length / (start + length);
            }
            model.forward(FaceTensors.Normalise(pixels.narrow(0, start, length), mean, std));
        }
        for (var i = 0; i < norms.Length; i++)
        {
            norms[i].momentum = momenta[i];
        }
        model.eval();
    }
}
