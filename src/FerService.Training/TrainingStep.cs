using System.Diagnostics;
using FerService.Training.Scenes;
using TorchSharp;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// One optimiser step on a batch of Training rows: augment, forward, loss, backward, step, then the EMA; with what
/// every step of a run works with.
/// </summary>
internal sealed class TrainingStep(TrainOptions options, EmotionNet model, EmotionNet ema, BFloat16Shadow? shadow, DistillationTeacher? teacher,
    optim.Optimizer optimizer, Tensor trainImages, Tensor targets, double mean, double std, Random random, FaceFraming?[]? framings) : IDisposable
{
    private readonly LossTerms _loss = new(options);

    public void Run(ReadOnlySpan<int> rows, EpochTotals totals)
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
        if (options.MixupAlpha > 0 && count > 1)
        {
            // λ as a tensor, not a Scalar: see Erase.
            var lambda = tensor((float)Augmentation.SampleBeta(options.MixupAlpha, random));
            batch = batch.roll(1, 0).lerp(batch, lambda);
            batchTargets = batchTargets.roll(1, 0).lerp(batchTargets, lambda);
        }
        totals.PhaseSeconds[0] += Stopwatch.GetElapsedTime(phase).TotalSeconds; phase = Stopwatch.GetTimestamp();
        var logits = shadow is null ? model.forward(batch) : shadow.Forward(batch);
        var loss = -(batchTargets * nn.functional.log_softmax(logits, 1)).sum(1).mean();
        if (teacher is not null)
        {
            var teacherTargets = teacher.Probabilities(batch, options.DistillationTemperature);
            var distillation = -(teacherTargets * nn.functional.log_softmax(logits.mul(_loss.InverseTemperature), 1)).sum(1).mean();
            loss = loss.mul(_loss.LabelShare).add(distillation.mul(_loss.TeacherShare));
        }
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

    public void Dispose() => _loss.Dispose();

    /// <summary>The distillation loss's constants as tensors, not implicit Scalars (see Erase).</summary>
    private sealed class LossTerms(TrainOptions options) : IDisposable
    {
        public Tensor LabelShare { get; } = tensor((float)(1 - options.DistillationWeight));
        public Tensor TeacherShare { get; } = tensor((float)(options.DistillationWeight * options.DistillationTemperature * options.DistillationTemperature));
        public Tensor InverseTemperature { get; } = tensor((float)(1 / options.DistillationTemperature));

        public void Dispose()
        {
            LabelShare.Dispose();
            TeacherShare.Dispose();
            InverseTemperature.Dispose();
        }
    }
}
