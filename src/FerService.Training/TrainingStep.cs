using System.Diagnostics;
using FerService.Training.Scenes;
using TorchSharp;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// One optimiser step on a batch of Training rows: augment, forward, loss, backward, step, then the EMA; with what
/// every step of a run works with.
/// </summary>
internal sealed class TrainingStep(TrainOptions options, EmotionNet model, EmotionNet ema, BFloat16Shadow? shadow,
    optim.Optimizer optimizer, Tensor trainImages, Tensor targets, double mean, double std, FaceFraming?[]? framings)
{
    /// <param name="random">The epoch's generator, which augmentation draws from.</param>
    public void Run(ReadOnlySpan<int> rows, EpochTotals totals, Random random)
    {
        var count = rows.Length;
        using var scope = NewDisposeScope();
        var indices = tensor(rows.ToArray().Select(i => (long)i).ToArray());
        var phase = Stopwatch.GetTimestamp();
        FaceFraming?[]? batchFramings = null;
        if (framings is not null)
        {
            batchFramings = new FaceFraming?[count];
            for (var i = 0; i < count; i++)
            {
                batchFramings[i] = framings[rows[i]];
            }
        }
        var batch = FaceTensors.Normalise(Augmentation.Augment(trainImages.index_select(0, indices), options.TrainCrop, options.EraseProbability, options.Jitter, random,
            batchFramings, options.FramingShare), mean, std);
        var batchTargets = targets.index_select(0, indices);
        totals.PhaseSeconds[0] += Stopwatch.GetElapsedTime(phase).TotalSeconds; phase = Stopwatch.GetTimestamp();
        var logits = shadow is null ? model.forward(batch) : shadow.Forward(batch);
        var loss = -(batchTargets * nn.functional.log_softmax(logits, 1)).sum(1).mean();
        totals.PhaseSeconds[1] += Stopwatch.GetElapsedTime(phase).TotalSeconds; phase = Stopwatch.GetTimestamp();
        optimizer.zero_grad();
        loss.backward();
        shadow?.CollectGradients();
        totals.PhaseSeconds[2] += Stopwatch.GetElapsedTime(phase).TotalSeconds; phase = Stopwatch.GetTimestamp();
        optimizer.step();
        ModelState.UpdateAverage(model, ema, options.EmaDecay);
        totals.PhaseSeconds[3] += Stopwatch.GetElapsedTime(phase).TotalSeconds;
        totals.LossSum += loss.item<float>() * count;
        totals.Correct += logits.argmax(1).eq(batchTargets.argmax(1)).sum().item<long>();
        totals.Seen += count;
    }
}
