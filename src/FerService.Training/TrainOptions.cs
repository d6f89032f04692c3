namespace FerService.Training;

internal sealed record TrainOptions
{
    public required string DataPath { get; init; }
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
    /// <summary>Train in bf16 mixed precision (<see cref="BFloat16Shadow"/>); evaluation and export stay fp32.</summary>
    public bool BFloat16 { get; init; }
    /// <summary>Conv weights stored channels-last (<see cref="EmotionNet.UseChannelsLast"/>): the same net, another memory layout.</summary>
    public bool ChannelsLast { get; init; }
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
    /// <summary>
    /// A <c>teach</c> file: a teacher's stored predictions for every Training face. Each face's target becomes
    /// (1 − <see cref="TeacherWeight"/>) × its smoothed label + <see cref="TeacherWeight"/> × the teacher's probabilities:
    /// how a student of the shipped size learns from an ensemble.
    /// </summary>
    public string? TeacherTargetsPath { get; init; }
    public double TeacherWeight { get; init; } = 0.5;
    /// <summary>Stop after this many optimiser steps (tests use it to keep the trainer from rotting).</summary>
    public int? MaxSteps { get; init; }
    public int? MaxTrainingRows { get; init; }
    public required string Command { get; init; }
    /// <summary>Where each epoch's checkpoint goes (<see cref="RunCheckpoint"/>); empty: artifacts/training/&lt;time&gt;-seed&lt;seed&gt;.</summary>
    public string? RunDirectory { get; init; }
    /// <summary>End the run after this epoch's checkpoint, without exporting: what the end of a session does to a long run (tests).</summary>
    public int? StopAfterEpochs { get; init; }
}

internal enum JitterKind
{
    Standard,
    Pipeline,
}
