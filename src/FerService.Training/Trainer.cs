using System.Diagnostics;
using System.Globalization;
using FerService.Evaluation;
using FerService.Inference.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// The training loop: trains <see cref="EmotionNet"/> on FER2013 Training, keeps the best of model and EMA on
/// PublicTest each epoch, and hands it to <see cref="ModelExporter"/> for the ONNX models and their cards.
/// </summary>
internal sealed class Trainer(TrainOptions options, TextWriter log)
{
    private const int Side = Fer2013Split.Side;
    private const int Classes = Fer2013Reader.ClassCount;
    internal const double WarmupFraction = 0.03;

    private string? _initSha256;

    /// <summary><c>train --resume</c>: the run in <paramref name="directory"/> from its last finished epoch, with its own options.</summary>
    public static ModelManifest? Resume(string directory, TextWriter log, int? stopAfterEpochs = null)
    {
        var checkpoint = new RunCheckpoint(directory);
        var state = checkpoint.ReadState();
        log.WriteLine($"resuming {directory} after epoch {state.Epoch} ({state.Steps} steps, {state.ElapsedSeconds / 60:F1} min)");
        return new Trainer(state.Options with { RunDirectory = directory, StopAfterEpochs = stopAfterEpochs }, log).Run(state);
    }

    /// <returns>The exported model's card; null when the run stopped at <see cref="TrainOptions.StopAfterEpochs"/>.</returns>
    public ModelManifest? Run(RunState? resumed = null)
    {
        var clock = Stopwatch.StartNew();
        var elapsedBefore = resumed?.ElapsedSeconds ?? 0;
        double Elapsed() => elapsedBefore + clock.Elapsed.TotalSeconds;
        torch.set_num_threads(options.Threads);
        torch.manual_seed(options.Seed);
        var checkpoint = new RunCheckpoint(options.RunDirectory ?? RunCheckpoint.DefaultDirectory(options.Seed));

        var (train, validation, mean, std) = ReadSplits();
        var targets = SoftTargets(train);
        using var trainImages = FaceTensors.ToTensor(train);
        using var validationImages = FaceTensors.Normalise(FaceTensors.ToTensor(validation), mean, std);
        using var validationLabels = tensor(validation.Labels.Select(l => (long)l).ToArray());

        if (options.FlattensFeatureMap && options.TrainCrop != Side)
        {
            throw new ArgumentException($"An architecture ending in F flattens the feature map of a {Side}x{Side} face; it needs --crop {Side}.");
        }
        using var model = NewModel();
        using var ema = NewModel();
        if (resumed is null && options.InitModelPath is { } init)
        {
            LoadExported(model, init);
            log.WriteLine($"starting from {Path.GetFileName(init)} (sha256 {_initSha256})");
        }
        ModelState.Copy(model, ema);
        if (options.ChannelsLast)
        {
            model.UseChannelsLast();
        }
        using var shadow = options.BFloat16 ? new BFloat16Shadow(model, NewModel) : null;
        log.WriteLine($"model {options.Architecture}: {model.ParameterCount():N0} parameters, {options.Threads} threads{(options.BFloat16 ? ", bf16 mixed precision" : "")}{(options.ChannelsLast ? ", channels-last" : "")}");
        var optimizer = optim.SGD(model.parameters(), options.LearningRate, momentum: 0.9, weight_decay: options.WeightDecay, nesterov: true);
        var framings = ReadFramings(train.Count);
        var step = new TrainingStep(options, model, ema, shadow, optimizer, trainImages, targets, mean, std, framings);

        var stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var plannedSteps = (long)stepsPerEpoch * options.Epochs;
        var budgetSeconds = options.Minutes * 60;
        var order = new int[train.Count];
        var epochLog = resumed?.Epochs ?? [];
        var best = new BestCheckpoint(options.OutputDirectory, NewModel);
        long steps = resumed?.Steps ?? 0;
        var finished = false;
        if (resumed is not null)
        {
            checkpoint.Restore(resumed, model, ema, optimizer, best);
            _initSha256 = resumed.InitSha256;
        }
        // bf16 keeps float32 master weights outside the net, and channels-last momentum is not contiguous, which the
        // optimiser's save refuses: those runs are not resumable.
        var checkpointing = !options.BFloat16 && !options.ChannelsLast;
        log.WriteLine(checkpointing
            ? $"checkpoints in {checkpoint.Directory} (train --resume {checkpoint.Directory} continues this run)"
            : "no checkpoints: a bf16 or channels-last run cannot be resumed");

        for (var epoch = (resumed?.Epoch ?? 0) + 1; !finished; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            model.train();
            // Each epoch's draws depend on the seed and the epoch alone, so a resumed run makes the same ones.
            var random = new Random(RunCheckpoint.EpochSeed(options.Seed, epoch));
            torch.manual_seed(RunCheckpoint.EpochSeed(options.Seed, epoch));
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }
            random.Shuffle(order);
            var totals = new EpochTotals();
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                var progress = Math.Max((double)steps / plannedSteps, budgetSeconds is { } b ? Elapsed() / b : 0);
                if (progress >= 1 || (options.MaxSteps is { } max && steps >= max))
                {
                    finished = true;
                    break;
                }
                totals.LearningRate = LearningRateAt(progress);
                SetLearningRate(optimizer, totals.LearningRate);
                step.Run(order.AsSpan(start, Math.Min(options.BatchSize, order.Length - start)), totals, random);
                steps++;
            }
            if (totals.Seen == 0)
            {
                break;
            }
            var trainSeconds = epochClock.Elapsed.TotalSeconds;

            var accuracy = ModelScoring.Accuracy(model, validationImages, validationLabels);
            // The average lags far behind early on; measuring it before mid-training only costs time.
            var emaAccuracy = finished || steps >= plannedSteps / 2 || (budgetSeconds is { } total && Elapsed() >= total / 2)
                ? ModelScoring.Accuracy(ema, validationImages, validationLabels) : 0;
            best.Offer(model, accuracy, $"model@{epoch}");
            best.Offer(ema, emaAccuracy, $"ema@{epoch}");
            var seconds = epochClock.Elapsed.TotalSeconds;
            epochLog.Add(new EpochLog(epoch, Math.Round(totals.LossSum / totals.Seen, 4), Math.Round((double)totals.Correct / totals.Seen, 4),
                Math.Round(Math.Max(accuracy, emaAccuracy), 4), Math.Round(seconds, 1)));
            var phases = totals.PhaseSeconds;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch,3}  loss {totals.LossSum / totals.Seen:F4}  train-acc {(double)totals.Correct / totals.Seen:P2}  publictest-acc {accuracy:P2}  ema-acc {emaAccuracy:P2}  lr {totals.LearningRate:F4}  {seconds:F1}s  elapsed {Elapsed() / 60:F1}m  train images/s {totals.Seen / trainSeconds:F0}  [data {phases[0]:F1}s fwd {phases[1]:F1}s bwd {phases[2]:F1}s step {phases[3]:F1}s]"));
            if (checkpointing)
            {
                checkpoint.Save(new RunState(options, epoch, steps, Elapsed(), epochLog, best.Accuracy, best.Source, _initSha256), model, ema, optimizer, best);
            }
            if (!finished && epoch == options.StopAfterEpochs)
            {
                log.WriteLine($"stopped after epoch {epoch}; train --resume {checkpoint.Directory} continues");
                return null;
            }
        }

        best.LoadInto(model);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best PublicTest accuracy {best.Accuracy:P2} from {best.Source}"));
        return new ModelExporter(options, log).Finish(model, trainImages, validation, validationImages, mean, std, Elapsed(), epochLog,
            TrainingRecipe.Describe(options, best.Source, _initSha256));
    }

    private (Fer2013Split Train, Fer2013Split Validation, double Mean, double Std) ReadSplits()
    {
        log.WriteLine($"reading {options.DataPath}");
        // PrivateTest is never requested, so it is never held in memory.
        var splits = Fer2013Reader.Read(options.DataPath, ["Training", "PublicTest"], options.MaxTrainingRows ?? int.MaxValue);
        if (!splits.TryGetValue("Training", out var train) || !splits.TryGetValue("PublicTest", out var validation))
        {
            throw new Fer2013FormatException($"{options.DataPath}: needs both Training and PublicTest rows.");
        }
        var (mean, std) = FaceTensors.PixelStatistics(train);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Training {train.Count} rows, PublicTest {validation.Count} rows; pixel mean {mean:F4} std {std:F4}"));
        return (train, validation, mean, std);
    }

    private Scenes.FaceFraming?[]? ReadFramings(int trainingRows)
    {
        if (options.FramingPath is not { } path)
        {
            return null;
        }
        var framings = Scenes.FaceFraming.Read(path, trainingRows, out var beyond);
        var framed = framings.Count(f => f is not null);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"framing from {Path.GetFileName(path)}: {framed} of {trainingRows} Training faces ({beyond} lines for rows not read), {options.FramingShare:P0} of them cropped there per sample"));
        return framings;
    }

    private EmotionNet NewModel() => new(options.Architecture, Classes, options.FeatureDropout, options.HeadDropout);

    /// <summary>Starts <paramref name="model"/> from an exported float32 model of the same architecture (<see cref="TrainOptions.InitModelPath"/>).</summary>
    private void LoadExported(EmotionNet model, string modelPath)
    {
        var card = ModelManifest.Load(Path.ChangeExtension(modelPath, ".json"));
        var architecture = ModelExporter.ArchitectureOf(card, modelPath);
        if (architecture != options.Architecture)
        {
            throw new ArgumentException($"{modelPath} is a [{architecture}] net; this run trains [{options.Architecture}] (pass --arch {architecture}).");
        }
        var onnx = File.ReadAllBytes(modelPath);
        Onnx.OnnxWeightLoader.Load(model, Inference.Onnx.OnnxModelReader.Initializers(onnx));
        _initSha256 = card.Sha256;
    }

    private double LearningRateAt(double progress)
    {
        if (progress < WarmupFraction)
        {
            return options.LearningRate * (0.1 + 0.9 * progress / WarmupFraction);
        }
        var cosine = (progress - WarmupFraction) / (1 - WarmupFraction);
        return options.LearningRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, cosine)));
    }

    private static void SetLearningRate(optim.Optimizer optimizer, double learningRate)
    {
        foreach (var group in optimizer.ParamGroups)
        {
            group.LearningRate = learningRate;
        }
    }

    /// <summary>
    /// The one-hot original label, smoothed by <see cref="TrainOptions.LabelSmoothing"/>, mixed with the teacher's
    /// predictions where the run has them (<see cref="TrainOptions.TeacherTargetsPath"/>).
    /// </summary>
    private Tensor SoftTargets(Fer2013Split train)
    {
        var targets = new float[train.Count * Classes];
        var smoothing = (float)options.LabelSmoothing;
        for (var i = 0; i < train.Count; i++)
        {
            var row = targets.AsSpan(i * Classes, Classes);
            for (var c = 0; c < Classes; c++)
            {
                row[c] = smoothing / Classes + (c == train.Labels[i] ? 1 - smoothing : 0);
            }
        }
        if (options.TeacherTargetsPath is { } teacher)
        {
            TeacherTargets.Mix(targets, TeacherTargets.Read(teacher, train.Count), options.TeacherWeight);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"targets: {1 - options.TeacherWeight:0.##} × label + {options.TeacherWeight:0.##} × {Path.GetFileName(teacher)} (sha256 {TeacherTargets.Sha256(teacher)})"));
        }
        return tensor(targets, [train.Count, Classes]);
    }
}
