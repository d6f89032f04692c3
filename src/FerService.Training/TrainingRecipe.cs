using System.Globalization;

namespace FerService.Training;

/// <summary>The card's <c>training.recipe</c>: how a run trained its net, in words, key by key.</summary>
internal static class TrainingRecipe
{
    /// <param name="bestSource">Where the exported weights came from, e.g. <c>ema@41</c>.</param>
    /// <param name="initSha256">The sha256 of the model the run started from (null when it started from random weights).</param>
    public static Dictionary<string, string> Describe(TrainOptions options, string bestSource, string? initSha256) => new()
    {
        ["architecture"] = $"VGG-style conv3x3+BN+ReLU [{options.Architecture}], {(options.FlattensFeatureMap ? "last feature map flattened" : "global average pool")}, dropout {options.FeatureDropout}, linear 256 + ReLU, dropout {options.HeadDropout}, linear 7",
        ["input"] = "48x48 grey, scaled to [0,1], normalised with the Training pixel mean/std",
        ["augmentation"] = $"per sample: random {options.TrainCrop}x{options.TrainCrop} crop plus ±4 px shift, horizontal flip, ±10° rotation, 0.9–1.1 scale (one affine_grid + grid_sample), contrast 0.8–1.2, brightness ±0.1{(options.EraseProbability > 0 ? $", random erasing (p {options.EraseProbability:0.##}, 2–20 % of the face, noise fill)" : "")}; evaluation on the full 48x48 face",
        ["loss"] = options.TeacherTargetsPath is { } teacher
            ? string.Create(CultureInfo.InvariantCulture, $"soft cross-entropy against {1 - options.TeacherWeight:0.##} × the label smoothed {options.LabelSmoothing} + {options.TeacherWeight:0.##} × a teacher's stored flip-averaged predictions ({Path.GetFileName(teacher)}, sha256 {TeacherTargets.Sha256(teacher)}, written by the teach command)")
            : $"soft cross-entropy against the label smoothed {options.LabelSmoothing}",
        ["optimiser"] = string.Create(CultureInfo.InvariantCulture, $"SGD nesterov momentum 0.9, weight decay {options.WeightDecay}, batch {options.BatchSize}{(options.BFloat16 ? "; bf16 mixed precision (fp32 master weights and BatchNorm)" : "")}"),
        ["schedule"] = string.Create(CultureInfo.InvariantCulture, $"linear warm-up over {Trainer.WarmupFraction:P0} to LR {options.LearningRate}, cosine to 0; progress = max(step / planned steps, elapsed / budget)"),
        ["weightAveraging"] = string.Create(CultureInfo.InvariantCulture, $"EMA of weights and BN statistics, decay {options.EmaDecay}; best of model and EMA kept"),
        ["selection"] = $"best PublicTest accuracy, evaluated every epoch: {bestSource}",
        ["framing"] = options.Jitter == JitterKind.Pipeline
            ? $"pipeline jitter: scale log-normal sd {Augmentation.PipelineScaleSd} (0.7–1.4), shift normal sd {Augmentation.PipelineShiftSdX} across and {Augmentation.PipelineShiftSdY} down (in face sides), as evaluate-scenes measured the detector's boxes against the true faces"
            : "standard jitter: scale 0.9–1.1, shift ±4 px",
        ["serviceFraming"] = options.FramingPath is null ? "none"
            : string.Create(CultureInfo.InvariantCulture, $"{options.FramingShare:P0} of the faces the service's detector finds alone are sampled where it crops them ({Path.GetFileName(options.FramingPath)}, written by the framing command), with the standard jitter around that"),
        ["initialisation"] = options.InitModelPath is null ? "random" : $"fine-tuned from {Path.GetFileName(options.InitModelPath)} (sha256 {initSha256})",
        ["batchNorm"] = "statistics as accumulated during training",
    };
}
