namespace FerService.Training;

internal sealed record TrainOptions
{
    public required string DataPath { get; init; }
    public string? FerPlusPath { get; init; }
    public string OutputDirectory { get; init; } = "models";
    public int Epochs { get; init; } = 60;
    /// <summary>Wall-clock budget; the learning-rate schedule follows whichever of epochs or time runs out first.</summary>
    public double? Minutes { get; init; }
    public int Seed { get; init; } = 20261124;
    public int Threads { get; init; } = Environment.ProcessorCount;
    public int BatchSize { get; init; } = 64;
    public double LearningRate { get; init; } = 0.05;
    public double WeightDecay { get; init; } = 5e-4;
    public double LabelSmoothing { get; init; } = 0.1;
    /// <summary>
    /// Weight of the FER+ vote distribution in the soft target (the rest is the smoothed original label). Off by default:
    /// measured against 0.3 (with 40×40 crops) the original labels alone gave the higher PublicTest accuracy.
    /// </summary>
    public double FerPlusWeight { get; init; }
    public double EmaDecay { get; init; } = 0.999;
    public string Architecture { get; init; } = "32,32,M,64,64,M,128,128,M,256,256,M";

    /// <summary>The architecture ends in 'F': the head sees the last feature map flattened, not averaged (see <see cref="EmotionNet"/>).</summary>
    public bool FlattensFeatureMap => Architecture.TrimEnd().EndsWith('F');
    public double FeatureDropout { get; init; } = 0.2;
    public double HeadDropout { get; init; } = 0.3;
    /// <summary>
    /// Side of the random training crop; evaluation and export use the full 48×48 face. 48 (no crop, only the affine
    /// jitter) beat 40: the model sees at training what it sees at test time.
    /// </summary>
    public int TrainCrop { get; init; } = 48;
    /// <summary>
    /// Probability of random erasing per training face: one rectangle (2–20 % of the face, aspect 0.3–3.3) filled with
    /// noise, so the net cannot lean on one region: it halved the gap between train and PublicTest accuracy (docs/model-card.md).
    /// </summary>
    public double EraseProbability { get; init; } = 0.5;
    /// <summary>
    /// Mixup's Beta(α, α) parameter; 0 turns it off. Each batch is blended with itself shifted by one face (the batch is
    /// already shuffled), inputs and soft targets alike, one λ per batch.
    /// </summary>
    public double MixupAlpha { get; init; }
    /// <summary>
    /// An exported classifier (.onnx beside its card) to distil from; null trains on the labels alone. Its flip-averaged
    /// probabilities at <see cref="DistillationTemperature"/> are the target of a second cross-entropy term.
    /// </summary>
    public string? TeacherPath { get; init; }
    /// <summary>Share of the loss that follows the teacher (the rest follows the smoothed label).</summary>
    public double DistillationWeight { get; init; } = 0.5;
    /// <summary>Softens teacher and student alike in the distillation term, which is scaled by T² so its gradients keep their size.</summary>
    public double DistillationTemperature { get; init; } = 2;
    /// <summary>Train in bf16 mixed precision (<see cref="BFloat16Shadow"/>); evaluation and export stay fp32.</summary>
    public bool BFloat16 { get; init; }
    /// <summary>Conv weights stored channels-last (<see cref="EmotionNet.UseChannelsLast"/>): the same net, another memory layout.</summary>
    public bool ChannelsLast { get; init; }
    /// <summary>
    /// Re-estimate every BatchNorm's statistics on the clean Training faces before export: training gathered them on
    /// augmented, partly erased (and with bf16, lower-precision) batches, which is not what the service feeds the model.
    /// Off by default: on both checkpoints tried it lowered PublicTest accuracy (docs/model-card.md); the weights
    /// were fitted under the augmented batches' statistics.
    /// </summary>
    public bool RecalibrateBatchNorm { get; init; }
    /// <summary>
    /// An exported float32 model (.onnx beside its card) whose weights the run starts from instead of random ones: a
    /// fine-tune, typically with a lower <see cref="LearningRate"/> and a new <see cref="Jitter"/>.
    /// </summary>
    public string? InitModelPath { get; init; }
    /// <summary>
    /// How far the framing of a training face is jittered. Standard: scale 0.9–1.1, shift ±4 px. Pipeline: what the
    /// service's detector and aligner do to a face's framing, measured with <c>evaluate-scenes --faces-csv</c> on Training
    /// faces (reported side over true side log-normal, sd 0.16; centre off by sd 0.055 of the side across, 0.06 down).
    /// </summary>
    public JitterKind Jitter { get; init; } = JitterKind.Standard;
    /// <summary>
    /// A <c>framing</c> file: where the service's detector crops each Training face. <see cref="FramingShare"/> of the
    /// faces that have one are cropped there (with the standard jitter around it) instead of on the FER2013 square, so
    /// the classifier also learns the framing it will be served: tighter or looser than the square, face by face.
    /// </summary>
    public string? FramingPath { get; init; }
    public double FramingShare { get; init; } = 0.5;
    /// <summary>Stop after this many optimiser steps (tests use it to keep the trainer from rotting).</summary>
    public int? MaxSteps { get; init; }
    public int? MaxTrainingRows { get; init; }
    public required string Command { get; init; }
}

internal enum JitterKind
{
    Standard,
    Pipeline,
}
