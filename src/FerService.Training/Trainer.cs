using System.Diagnostics;
using System.Globalization;
using FerService.Inference.Classification;
using FerService.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>Trains <see cref="EmotionNet"/> on FER2013 Training, selects on PublicTest, exports ONNX and the model card.</summary>
internal sealed class Trainer(TrainOptions options, TextWriter log)
{
    private const int Side = Fer2013Split.Side;
    private const int Classes = Fer2013Reader.ClassCount;
    private const int EvaluationBatch = 512;
    private const double WarmupFraction = 0.03;

    public const string ModelFileName = "emotion-fer2013.onnx";
    public const string ManifestFileName = "emotion-fer2013.json";
    public const string CheckpointFileName = "emotion-fer2013.ckpt";
    public const string Int8ModelFileName = "emotion-fer2013-int8.onnx";
    public const string Int8ManifestFileName = "emotion-fer2013-int8.json";

    /// <summary>The distillation teacher as the card names it: file and sha256 (null without one).</summary>
    private string? _teacher;
    private string? _initSha256;

    /// <summary>Training rows whose activation ranges set the int8 model's quantisation (evenly spread over the split).</summary>
    private const int CalibrationRows = 2048;

    public ModelManifest Run()
    {
        var clock = Stopwatch.StartNew();
        torch.set_num_threads(options.Threads);
        torch.manual_seed(options.Seed);
        var random = new Random(options.Seed);

        var (train, validation, mean, std) = ReadSplits();
        var targets = SoftTargets(train);
        using var trainImages = ToTensor(train);
        using var validationImages = Normalise(ToTensor(validation), mean, std);
        using var validationLabels = tensor(validation.Labels.Select(l => (long)l).ToArray());

        if (options.FlattensFeatureMap && options.TrainCrop != Side)
        {
            throw new ArgumentException($"An architecture ending in F flattens the feature map of a {Side}x{Side} face; it needs --crop {Side}.");
        }
        using var model = NewModel();
        using var ema = NewModel();
        if (options.InitModelPath is { } init)
        {
            LoadExported(model, init);
            log.WriteLine($"starting from {Path.GetFileName(init)} (sha256 {_initSha256})");
        }
        CopyState(model, ema);
        if (options.ChannelsLast)
        {
            model.UseChannelsLast();
        }
        using var shadow = options.BFloat16 ? new BFloat16Shadow(model, NewModel) : null;
        log.WriteLine($"model {options.Architecture}: {model.ParameterCount():N0} parameters, {options.Threads} threads{(options.BFloat16 ? ", bf16 mixed precision" : "")}{(options.ChannelsLast ? ", channels-last" : "")}");
        using var teacher = OpenTeacher(mean, std);
        using var loss = new LossTerms(options);
        var optimizer = optim.SGD(model.parameters(), options.LearningRate, momentum: 0.9, weight_decay: options.WeightDecay, nesterov: true);
        var framings = ReadFramings(train.Count);
        var step = new StepContext(model, ema, shadow, teacher, loss, optimizer, trainImages, targets, mean, std, random, framings);

        var stepsPerEpoch = (train.Count + options.BatchSize - 1) / options.BatchSize;
        var plannedSteps = (long)stepsPerEpoch * options.Epochs;
        var budgetSeconds = options.Minutes * 60;
        var order = Enumerable.Range(0, train.Count).ToArray();
        var epochLog = new List<EpochLog>();
        var best = new BestCheckpoint(options.OutputDirectory, NewModel);
        long steps = 0;
        var finished = false;

        for (var epoch = 1; !finished; epoch++)
        {
            var epochClock = Stopwatch.StartNew();
            model.train();
            random.Shuffle(order);
            var totals = new EpochTotals();
            for (var start = 0; start < order.Length; start += options.BatchSize)
            {
                var progress = Math.Max((double)steps / plannedSteps, budgetSeconds is { } b ? clock.Elapsed.TotalSeconds / b : 0);
                if (progress >= 1 || (options.MaxSteps is { } max && steps >= max))
                {
                    finished = true;
                    break;
                }
                totals.LearningRate = LearningRateAt(progress);
                SetLearningRate(optimizer, totals.LearningRate);
                TrainBatch(step, order.AsSpan(start, Math.Min(options.BatchSize, order.Length - start)), totals);
                steps++;
            }
            if (totals.Seen == 0)
            {
                break;
            }
            var trainSeconds = epochClock.Elapsed.TotalSeconds;

            var accuracy = Accuracy(model, validationImages, validationLabels);
            // The average lags far behind early on; measuring it before mid-training only costs time.
            var emaAccuracy = finished || steps >= plannedSteps / 2 || (budgetSeconds is { } total && clock.Elapsed.TotalSeconds >= total / 2)
                ? Accuracy(ema, validationImages, validationLabels) : 0;
            best.Offer(model, accuracy, $"model@{epoch}");
            best.Offer(ema, emaAccuracy, $"ema@{epoch}");
            var seconds = epochClock.Elapsed.TotalSeconds;
            epochLog.Add(new EpochLog(epoch, Math.Round(totals.LossSum / totals.Seen, 4), Math.Round((double)totals.Correct / totals.Seen, 4),
                Math.Round(Math.Max(accuracy, emaAccuracy), 4), Math.Round(seconds, 1)));
            var phases = totals.PhaseSeconds;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch,3}  loss {totals.LossSum / totals.Seen:F4}  train-acc {(double)totals.Correct / totals.Seen:P2}  publictest-acc {accuracy:P2}  ema-acc {emaAccuracy:P2}  lr {totals.LearningRate:F4}  {seconds:F1}s  elapsed {clock.Elapsed.TotalMinutes:F1}m  train images/s {totals.Seen / trainSeconds:F0}  [data {phases[0]:F1}s fwd {phases[1]:F1}s bwd {phases[2]:F1}s step {phases[3]:F1}s]"));
        }

        best.LoadInto(model);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"best PublicTest accuracy {best.Accuracy:P2} from {best.Source}"));
        return Finish(model, trainImages, validation, validationImages, mean, std, clock.Elapsed.TotalSeconds, epochLog, best.Source);
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
        var (mean, std) = PixelStatistics(train);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Training {train.Count} rows, PublicTest {validation.Count} rows; pixel mean {mean:F4} std {std:F4}"));
        return (train, validation, mean, std);
    }

    /// <summary>The distillation teacher, checked against the student's input; null without <c>--teacher</c>.</summary>
    private DistillationTeacher? OpenTeacher(double mean, double std)
    {
        if (options.TeacherPath is not { } teacherPath)
        {
            return null;
        }
        var teacher = new DistillationTeacher(teacherPath, options.Threads);
        var input = teacher.Manifest.Input;
        if (input.Height != options.TrainCrop || input.Width != options.TrainCrop || Math.Abs(input.Mean[0] * 255 - mean * 255) > 0.5 || Math.Abs(input.Std[0] * 255 - std * 255) > 0.5)
        {
            teacher.Dispose();
            throw new ArgumentException($"The teacher {options.TeacherPath} expects {input.Width}x{input.Height} faces normalised with mean {input.Mean[0]} and std {input.Std[0]}; the student trains on {options.TrainCrop}x{options.TrainCrop} with {mean:F4} and {std:F4}.");
        }
        _teacher = $"{Path.GetFileName(options.TeacherPath)} (sha256 {teacher.Manifest.Sha256})";
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"distilling from {teacher.Manifest.Name} {teacher.Manifest.Version} (sha256 {teacher.Manifest.Sha256[..12]}): weight {options.DistillationWeight}, temperature {options.DistillationTemperature}"));
        return teacher;
    }

    /// <summary>One optimiser step on the Training rows <paramref name="rows"/>: augment, forward, loss, backward, step, EMA.</summary>
    private void TrainBatch(StepContext c, ReadOnlySpan<int> rows, EpochTotals totals)
    {
        var count = rows.Length;
        using var scope = NewDisposeScope();
        var indices = tensor(rows.ToArray().Select(i => (long)i).ToArray());
        var phase = Stopwatch.GetTimestamp();
        Scenes.FaceFraming?[]? batchFramings = null;
        if (c.Framings is { } framings)
        {
            batchFramings = new Scenes.FaceFraming?[count];
            for (var i = 0; i < count; i++)
            {
                batchFramings[i] = framings[rows[i]];
            }
        }
        var batch = Normalise(Augmentation.Augment(c.TrainImages.index_select(0, indices), options.TrainCrop, options.EraseProbability, options.Jitter, c.Random,
            batchFramings, options.FramingShare), c.Mean, c.Std);
        var batchTargets = c.Targets.index_select(0, indices);
        if (options.MixupAlpha > 0 && count > 1)
        {
            // λ as a tensor, not a Scalar: see Erase.
            var lambda = tensor((float)Augmentation.SampleBeta(options.MixupAlpha, c.Random));
            batch = batch.roll(1, 0).lerp(batch, lambda);
            batchTargets = batchTargets.roll(1, 0).lerp(batchTargets, lambda);
        }
        totals.PhaseSeconds[0] += Stopwatch.GetElapsedTime(phase).TotalSeconds; phase = Stopwatch.GetTimestamp();
        var logits = c.Shadow is null ? c.Model.forward(batch) : c.Shadow.Forward(batch);
        var loss = -(batchTargets * nn.functional.log_softmax(logits, 1)).sum(1).mean();
        if (c.Teacher is not null)
        {
            var teacherTargets = c.Teacher.Probabilities(batch, options.DistillationTemperature);
            var distillation = -(teacherTargets * nn.functional.log_softmax(logits.mul(c.Loss.InverseTemperature), 1)).sum(1).mean();
            loss = loss.mul(c.Loss.LabelShare).add(distillation.mul(c.Loss.TeacherShare));
        }
        totals.PhaseSeconds[1] += Stopwatch.GetElapsedTime(phase).TotalSeconds; phase = Stopwatch.GetTimestamp();
        c.Optimizer.zero_grad();
        loss.backward();
        c.Shadow?.CollectGradients();
        totals.PhaseSeconds[2] += Stopwatch.GetElapsedTime(phase).TotalSeconds; phase = Stopwatch.GetTimestamp();
        c.Optimizer.step();
        UpdateEma(c.Model, c.Ema, options.EmaDecay);
        totals.PhaseSeconds[3] += Stopwatch.GetElapsedTime(phase).TotalSeconds;
        totals.LossSum += loss.item<float>() * count;
        totals.Correct += logits.argmax(1).eq(batchTargets.argmax(1)).sum().item<long>();
        totals.Seen += count;
    }

    /// <summary>What every optimiser step of a run works with.</summary>
    private sealed record StepContext(EmotionNet Model, EmotionNet Ema, BFloat16Shadow? Shadow, DistillationTeacher? Teacher, LossTerms Loss,
        optim.Optimizer Optimizer, Tensor TrainImages, Tensor Targets, double Mean, double Std, Random Random, Scenes.FaceFraming?[]? Framings);

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

    /// <summary>One epoch's running sums for its log line.</summary>
    private sealed class EpochTotals
    {
        public double LossSum;
        public long Seen;
        public long Correct;
        public double LearningRate;
        /// <summary>Seconds in data, forward, backward and optimiser step.</summary>
        public readonly double[] PhaseSeconds = new double[4];
    }

    /// <summary>
    /// The best weights seen on PublicTest (model or EMA, any epoch), kept in memory and saved as the checkpoint so a
    /// stopped run can still be exported.
    /// </summary>
    private sealed class BestCheckpoint(string outputDirectory, Func<EmotionNet> newModel)
    {
        private Dictionary<string, Tensor>? _state;

        public double Accuracy { get; private set; } = -1;
        public string Source { get; private set; } = "";

        public void Offer(EmotionNet candidate, double accuracy, string source)
        {
            if (accuracy <= Accuracy)
            {
                return;
            }
            Accuracy = accuracy;
            Source = source;
            DisposeState(_state);
            _state = CloneState(candidate);
            Directory.CreateDirectory(outputDirectory);
            // Saved from a plain copy: a channels-last net's weights are not contiguous, which save() refuses.
            using var copy = newModel();
            LoadState(copy, _state);
            copy.save(Path.Combine(outputDirectory, CheckpointFileName));
        }

        public void LoadInto(EmotionNet model)
        {
            LoadState(model, _state!);
            DisposeState(_state);
            _state = null;
        }
    }

    /// <summary>Re-exports a saved checkpoint: PublicTest metrics, temperature, both ONNX models and cards (without the training log).</summary>
    public ModelManifest Export(string checkpointPath)
    {
        torch.set_num_threads(options.Threads);
        var splits = Fer2013Reader.Read(options.DataPath, ["Training", "PublicTest"]);
        var (mean, std) = PixelStatistics(splits["Training"]);
        var validation = splits["PublicTest"];
        using var trainImages = ToTensor(splits["Training"]);
        using var validationImages = Normalise(ToTensor(validation), mean, std);
        using var model = NewModel();
        model.load(checkpointPath);
        return Finish(model, trainImages, validation, validationImages, mean, std, 0, [], $"checkpoint {Path.GetFileName(checkpointPath)}");
    }

    private EmotionNet NewModel() => new(options.Architecture, Classes, options.FeatureDropout, options.HeadDropout);

    /// <summary>
    /// Writes the float32 model and card, then the int8 one: calibrated on Training rows, measured on PublicTest
    /// through ONNX Runtime (TorchSharp cannot run it), with a temperature of its own. Returns the float32 card.
    /// </summary>
    private ModelManifest Finish(EmotionNet model, Tensor trainImages, Fer2013Split validation, Tensor validationImages, double mean, double std,
        double wallSeconds, List<EpochLog> epochLog, string bestSource)
    {
        if (options.RecalibrateBatchNorm)
        {
            using var labels = tensor(validation.Labels.Select(l => (long)l).ToArray());
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PublicTest accuracy before BatchNorm re-estimation {Accuracy(model, validationImages, labels):P2}"));
            RecalibrateBatchNorm(model, trainImages, mean, std);
        }
        model.eval();
        var logits = Logits(model, validationImages);
        using var flippedImages = validationImages.flip(3);
        var flipped = Logits(model, flippedImages);
        var (cardMean, cardStd) = (Math.Round(mean, 4), Math.Round(std, 4));
        var manifest = WriteCard(model, ModelFileName, ManifestFileName, "fer2013-vgg", OnnxExporter.Export(model, Side, Side, Classes),
            logits, flipped, validation, cardMean, cardStd, wallSeconds, epochLog, Recipe(bestSource));

        WriteInt8(model, manifest, trainImages, validation, validationImages, mean, std, Recipe(bestSource), training: null, wallSeconds, epochLog);
        return manifest;
    }

    /// <summary>
    /// The int8 twin of <paramref name="floatCard"/>'s model: calibrated on Training rows, measured on PublicTest through
    /// ONNX Runtime (TorchSharp cannot run it), with a temperature of its own. <paramref name="training"/> replaces the
    /// card's training section when the model was not trained by this run.
    /// </summary>
    private ModelManifest WriteInt8(EmotionNet model, ModelManifest floatCard, Tensor trainImages, Fer2013Split validation, Tensor validationImages,
        double mean, double std, Dictionary<string, string> recipe, ModelTraining? training, double wallSeconds, List<EpochLog> epochLog)
    {
        var (cardMean, cardStd) = (floatCard.Input.Mean[0], floatCard.Input.Std[0]);
        var stride = Math.Max(1, trainImages.shape[0] / CalibrationRows);
        using var calibrationIndices = arange(0, trainImages.shape[0], stride, ScalarType.Int64);
        using var calibrationPixels = trainImages.index_select(0, calibrationIndices);
        using var calibrationImages = Normalise(calibrationPixels, mean, std);
        var ranges = Int8Exporter.Calibrate(model, calibrationImages);
        var int8 = Int8Exporter.Export(model, Side, Side, Classes, ranges, cardMean, cardStd);
        recipe["quantization"] =
            $"int8 QDQ of {floatCard.File} (sha256 {floatCard.Sha256}): BatchNorm folded into the convs; conv weights 7-bit (±{Int8Exporter.WeightLimit}) in int8, symmetric per output channel, so no CPU's uint8×int8 kernel can saturate; "
            + $"conv activations uint8, range [0, max] of each ReLU output over {calibrationIndices.shape[0]} evenly spaced Training rows; input uint8 over [0, 1]; "
            + "max-pooling on uint8; global pooling and the MLP head float32";
        using var flippedImages = validationImages.flip(3);
        return WriteCard(model, Int8ModelFileName, Int8ManifestFileName, floatCard.Name + "-int8", int8,
            OnnxExporter.Logits(int8, validationImages, Classes, options.Threads), OnnxExporter.Logits(int8, flippedImages, Classes, options.Threads),
            validation, cardMean, cardStd, wallSeconds, epochLog, recipe, training is null ? null : training with { Recipe = recipe });
    }

    /// <summary>
    /// Re-quantises an exported float32 model without its checkpoint: the weights are read back from the ONNX file (checked
    /// against ONNX Runtime's logits), the architecture from its card; writes the int8 twin and its card beside it.
    /// </summary>
    public ModelManifest Quantize(string floatModelPath)
    {
        torch.set_num_threads(options.Threads);
        var floatCard = ModelManifest.Load(Path.ChangeExtension(floatModelPath, ".json"));
        var onnx = File.ReadAllBytes(floatModelPath);
        var initializers = Inference.Onnx.OnnxModelReader.Initializers(onnx);
        using var model = new EmotionNet(ArchitectureOf(floatCard, floatModelPath), Classes, options.FeatureDropout, options.HeadDropout, HiddenOf(initializers));
        Onnx.OnnxWeightLoader.Load(model, initializers);
        model.eval();

        var splits = Fer2013Reader.Read(options.DataPath, ["Training", "PublicTest"]);
        var (mean, std) = (floatCard.Input.Mean[0], floatCard.Input.Std[0]);
        var validation = splits["PublicTest"];
        using var trainImages = ToTensor(splits["Training"]);
        using var validationImages = Normalise(ToTensor(validation), mean, std);
        using var probe = validationImages.narrow(0, 0, 64);
        var expected = OnnxExporter.Logits(onnx, probe, Classes, options.Threads);
        var actual = Logits(model, probe);
        for (var i = 0; i < expected.Length; i++)
        {
            if (Math.Abs(expected[i] - actual[i]) > 1e-3f)
            {
                throw new InvalidDataException($"The weights read back from '{floatModelPath}' do not reproduce its logits ({actual[i]} vs {expected[i]}).");
            }
        }
        var recipe = new Dictionary<string, string>(floatCard.Training!.Recipe!);
        var training = floatCard.Training with { Command = floatCard.Training.Command + "; quantised by: " + options.Command };
        return WriteInt8(model, floatCard, trainImages, validation, validationImages, mean, std, recipe, training,
            floatCard.Training.WallTimeSeconds, [.. floatCard.Training.Log ?? []]);
    }

    /// <summary>The architecture spec an exported model's card names in its recipe ("... [32,32,M,...] ...").</summary>
    private static string ArchitectureOf(ModelManifest card, string modelPath)
    {
        var architecture = card.Training?.Recipe?.GetValueOrDefault("architecture") ?? "";
        var (open, close) = (architecture.IndexOf('[', StringComparison.Ordinal), architecture.IndexOf(']', StringComparison.Ordinal));
        return open >= 0 && close > open ? architecture[(open + 1)..close]
            : throw new InvalidDataException($"The card of '{modelPath}' names no architecture '[...]' in its training recipe.");
    }

    private static int HiddenOf(IReadOnlyList<Inference.Onnx.OnnxInitializer> initializers) => (int)initializers.First(i => i.Dims.Length == 2).Dims[0];

    /// <summary>Starts <paramref name="model"/> from an exported float32 model of the same architecture (<see cref="TrainOptions.InitModelPath"/>).</summary>
    private void LoadExported(EmotionNet model, string modelPath)
    {
        var card = ModelManifest.Load(Path.ChangeExtension(modelPath, ".json"));
        var architecture = ArchitectureOf(card, modelPath);
        if (architecture != options.Architecture)
        {
            throw new ArgumentException($"{modelPath} is a [{architecture}] net; this run trains [{options.Architecture}] (pass --arch {architecture}).");
        }
        var onnx = File.ReadAllBytes(modelPath);
        Onnx.OnnxWeightLoader.Load(model, Inference.Onnx.OnnxModelReader.Initializers(onnx));
        _initSha256 = card.Sha256;
    }

    /// <summary>The card's line on lawful use; docs/responsible-use.md says more.</summary>
    internal const string ResponsibleUse =
        "Labels the apparent expression, not an inner emotional state. In the EU, emotion recognition at the workplace and in education is prohibited "
        + "(AI Act, Art. 5(1)(f)); the service never stores or logs images. See docs/responsible-use.md.";

    internal const string IntendedUse = "Research and product prototypes that estimate the apparent facial expression of a cropped, roughly frontal face "
        + "into 7 basic categories. Probabilities describe appearance, not a person's inner emotional state.";

    internal static readonly IReadOnlyList<string> Limitations =
    [
        "Trained on FER2013: 48x48 grey web images with noisy labels (about 1 in 4 disputed by FER+ annotators).",
        "Disgust is rare (1.5% of training data) and fear is often confused with sad and surprise; treat those classes with care.",
        "Accuracy drops for profile faces, heavy occlusion, low light and faces under about 40 pixels.",
        "Demographic balance of FER2013 is undocumented; performance across groups has not been measured.",
        "Not for decisions about individuals (hiring, policing, health, credit) or covert monitoring.",
        ResponsibleUse,
    ];

    internal const string License = "MIT (weights trained by this project on FER2013, whose own terms of use apply to the data)";

    private ModelManifest WriteCard(EmotionNet model, string modelFileName, string manifestFileName, string name, byte[] onnx,
        float[] logits, float[] flipped, Fer2013Split validation, double mean, double std,
        double wallSeconds, List<EpochLog> epochLog, Dictionary<string, string> recipe, ModelTraining? training = null)
    {
        var temperature = ClassificationMetrics.FitTemperature(logits, validation.Labels, Classes);
        var metrics = ClassificationMetrics.Compute(logits, flipped, validation.Labels, Fer2013Reader.Labels, temperature, "PublicTest");
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name} PublicTest: accuracy {metrics.Accuracy:P2}, flip-averaged {metrics.AccuracyFlipAveraged:P2}, macro-F1 {metrics.MacroF1:F4}, temperature {temperature}, ECE {metrics.EceBeforeCalibration:F4} -> {metrics.EceAfterCalibration:F4}"));

        Directory.CreateDirectory(options.OutputDirectory);
        var onnxPath = Path.Combine(options.OutputDirectory, modelFileName);
        File.WriteAllBytes(onnxPath, onnx);
        var manifest = new ModelManifest
        {
            Name = name,
            Version = DateTime.UtcNow.ToString("yyyy.MM.dd", CultureInfo.InvariantCulture),
            File = modelFileName,
            Sha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(onnx)),
            Input = new ModelInput
            {
                Name = OnnxExporter.InputName,
                Shape = [-1, 1, Side, Side],
                Channels = 1,
                Width = Side,
                Height = Side,
                Mean = [mean],
                Std = [std],
                FaceCropScale = 1.0,
            },
            OutputName = OnnxExporter.OutputName,
            Labels = Fer2013Reader.Labels,
            Temperature = temperature,
            Training = training ?? new ModelTraining
            {
                Data = "FER2013 Training rows (28,709); checkpoint chosen on PublicTest (3,589); PrivateTest never read",
                Command = options.Command,
                Seed = options.Seed,
                Epochs = epochLog.Count,
                WallTimeSeconds = Math.Round(wallSeconds),
                Parameters = model.ParameterCount(),
                Framework = "TorchSharp 0.107.0 / libtorch 2.10 CPU, ONNX opset " + Onnx.OnnxGraphBuilder.Opset,
                Recipe = recipe,
                Log = epochLog,
            },
            Metrics = metrics,
            Uncertainty = ClassificationMetrics.ChooseUncertainty(logits, flipped, validation.Labels, Classes, temperature, "PublicTest"),
            IntendedUse = IntendedUse,
            Limitations = Limitations,
            License = License,
        };
        manifest.Save(Path.Combine(options.OutputDirectory, manifestFileName));
        log.WriteLine($"wrote {onnxPath} and {manifestFileName} (sha256 {manifest.Sha256})");
        return manifest;
    }

    private Dictionary<string, string> Recipe(string bestSource) => new()
    {
        ["architecture"] = $"VGG-style conv3x3+BN+ReLU [{options.Architecture}], {(options.FlattensFeatureMap ? "last feature map flattened" : "global average pool")}, dropout {options.FeatureDropout}, linear 256 + ReLU, dropout {options.HeadDropout}, linear 7",
        ["input"] = "48x48 grey, scaled to [0,1], normalised with the Training pixel mean/std",
        ["augmentation"] = $"per sample: random {options.TrainCrop}x{options.TrainCrop} crop plus ±4 px shift, horizontal flip, ±10° rotation, 0.9–1.1 scale (one affine_grid + grid_sample), contrast 0.8–1.2, brightness ±0.1{(options.EraseProbability > 0 ? $", random erasing (p {options.EraseProbability:0.##}, 2–20 % of the face, noise fill)" : "")}; evaluation on the full 48x48 face",
        ["loss"] = $"soft cross-entropy; target = {1 - options.FerPlusWeight:0.##} × (label smoothed {options.LabelSmoothing}) + {options.FerPlusWeight:0.##} × FER+ vote distribution (where votes exist){(options.TeacherPath is null ? "" : string.Create(CultureInfo.InvariantCulture, $"; distilled: {1 - options.DistillationWeight:0.##} × that + {options.DistillationWeight:0.##} × T² × cross-entropy at temperature T = {options.DistillationTemperature} against the flip-averaged softened predictions of the teacher {_teacher} on the same augmented batch"))}{(options.MixupAlpha > 0 ? string.Create(CultureInfo.InvariantCulture, $"; mixup (Beta({options.MixupAlpha:0.##}, {options.MixupAlpha:0.##}), one λ per batch, inputs and targets)") : "")}",
        ["optimiser"] = string.Create(CultureInfo.InvariantCulture, $"SGD nesterov momentum 0.9, weight decay {options.WeightDecay}, batch {options.BatchSize}{(options.BFloat16 ? "; bf16 mixed precision (fp32 master weights and BatchNorm)" : "")}"),
        ["schedule"] = string.Create(CultureInfo.InvariantCulture, $"linear warm-up over {WarmupFraction:P0} to LR {options.LearningRate}, cosine to 0; progress = max(step / planned steps, elapsed / budget)"),
        ["weightAveraging"] = string.Create(CultureInfo.InvariantCulture, $"EMA of weights and BN statistics, decay {options.EmaDecay}; best of model and EMA kept"),
        ["selection"] = $"best PublicTest accuracy, evaluated every epoch: {bestSource}",
        ["framing"] = options.Jitter == JitterKind.Pipeline
            ? $"pipeline jitter: scale log-normal sd {Augmentation.PipelineScaleSd} (0.7–1.4), shift normal sd {Augmentation.PipelineShiftSdX} across and {Augmentation.PipelineShiftSdY} down (in face sides), as evaluate-scenes measured the detector's boxes against the true faces"
            : "standard jitter: scale 0.9–1.1, shift ±4 px",
        ["serviceFraming"] = options.FramingPath is null ? "none"
            : string.Create(CultureInfo.InvariantCulture, $"{options.FramingShare:P0} of the faces the service's detector finds alone are sampled where it crops them ({Path.GetFileName(options.FramingPath)}, written by the framing command), with the standard jitter around that"),
        ["initialisation"] = options.InitModelPath is null ? "random" : $"fine-tuned from {Path.GetFileName(options.InitModelPath)} (sha256 {_initSha256})",
        ["batchNorm"] = options.RecalibrateBatchNorm
            ? "statistics re-estimated after selection on all Training faces, unaugmented, in float32 (row-weighted mean of batch statistics, batch 512)"
            : "statistics as accumulated during training",
    };

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

    /// <summary>Smoothed one-hot original label, mixed with the FER+ vote distribution where one is given.</summary>
    private Tensor SoftTargets(Fer2013Split train)
    {
        float[]? votes = null;
        if (options.FerPlusPath is { } path && options.FerPlusWeight > 0)
        {
            votes = FerPlusVotes.Read(path, train);
            log.WriteLine($"FER+ votes from {path}, weight {options.FerPlusWeight}");
        }
        var targets = new float[train.Count * Classes];
        var smoothing = (float)options.LabelSmoothing;
        var withVotes = 0;
        for (var i = 0; i < train.Count; i++)
        {
            var row = targets.AsSpan(i * Classes, Classes);
            for (var c = 0; c < Classes; c++)
            {
                row[c] = smoothing / Classes + (c == train.Labels[i] ? 1 - smoothing : 0);
            }
            if (votes is null)
            {
                continue;
            }
            var vote = votes.AsSpan(i * Classes, Classes);
            float total = 0;
            foreach (var v in vote)
            {
                total += v;
            }
            if (total <= 0)
            {
                continue;
            }
            withVotes++;
            var weight = (float)options.FerPlusWeight;
            for (var c = 0; c < Classes; c++)
            {
                row[c] = (1 - weight) * row[c] + weight * vote[c];
            }
        }
        if (votes is not null)
        {
            log.WriteLine($"{withVotes} of {train.Count} training rows have usable FER+ votes");
        }
        return tensor(targets, [train.Count, Classes]);
    }

    private static (double Mean, double Std) PixelStatistics(Fer2013Split split)
    {
        double sum = 0, squares = 0;
        foreach (var p in split.Pixels)
        {
            var v = p / 255.0;
            sum += v;
            squares += v * v;
        }
        var mean = sum / split.Pixels.Length;
        return (mean, Math.Sqrt(squares / split.Pixels.Length - mean * mean));
    }

    private static Tensor ToTensor(Fer2013Split split)
    {
        var values = new float[split.Pixels.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = split.Pixels[i] / 255f;
        }
        return tensor(values, [split.Count, 1, Side, Side]);
    }

    private static Tensor Normalise(Tensor images, double mean, double std) => images.sub(mean).div(std);

    private static double Accuracy(EmotionNet model, Tensor images, Tensor labels)
    {
        var logits = Logits(model, images);
        var count = (int)labels.shape[0];
        var labelValues = labels.data<long>().ToArray();
        var correct = 0;
        for (var i = 0; i < count; i++)
        {
            correct += Softmax.ArgMax(logits.AsSpan(i * Classes, Classes)) == labelValues[i] ? 1 : 0;
        }
        return (double)correct / count;
    }

    internal static float[] Logits(EmotionNet model, Tensor images)
    {
        model.eval();
        using var _ = no_grad();
        var count = images.shape[0];
        var result = new float[count * Classes];
        for (long start = 0; start < count; start += EvaluationBatch)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(EvaluationBatch, count - start);
            var values = model.forward(images.narrow(0, start, length)).contiguous().data<float>().ToArray();
            values.CopyTo(result, (int)(start * Classes));
        }
        return result;
    }

    /// <summary>
    /// Replaces every BatchNorm's running mean and variance with their average over <paramref name="pixels"/> (raw [0, 1]
    /// faces), each batch weighted by its rows. Weights are untouched; the model is left in eval mode.
    /// </summary>
    internal static void RecalibrateBatchNorm(EmotionNet model, Tensor pixels, double mean, double std)
    {
        var norms = model.modules().OfType<TorchSharp.Modules.BatchNorm2d>().ToArray();
        var momenta = norms.Select(norm => norm.momentum).ToArray();
        using var _ = no_grad();
        model.train();
        var count = pixels.shape[0];
        for (long start = 0; start < count; start += EvaluationBatch)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(EvaluationBatch, count - start);
            // running = (1 − m) · running + m · batch with m = rows / rows so far: a row-weighted running average.
            foreach (var norm in norms)
            {
                norm.momentum = (double)length / (start + length);
            }
            model.forward(Normalise(pixels.narrow(0, start, length), mean, std));
        }
        for (var i = 0; i < norms.Length; i++)
        {
            norms[i].momentum = momenta[i];
        }
        model.eval();
    }

    private static void UpdateEma(EmotionNet model, EmotionNet ema, double decay)
    {
        using var _ = no_grad();
        foreach (var (average, current) in ema.parameters().Zip(model.parameters()))
        {
            average.mul_(decay).add_(current.detach(), alpha: 1 - decay);
        }
        foreach (var (average, current) in ema.buffers().Zip(model.buffers()))
        {
            if (average.is_floating_point())
            {
                average.mul_(decay).add_(current, alpha: 1 - decay);
            }
            else
            {
                average.copy_(current);
            }
        }
    }

    private static void CopyState(EmotionNet source, EmotionNet destination)
    {
        var state = CloneState(source);
        LoadState(destination, state);
        DisposeState(state);
    }

    private static Dictionary<string, Tensor> CloneState(EmotionNet model)
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, value) in model.state_dict())
        {
            state[name] = value.detach().contiguous().clone();
        }
        return state;
    }

    private static void LoadState(EmotionNet model, Dictionary<string, Tensor> state)
    {
        using var _ = no_grad();
        foreach (var (name, value) in model.state_dict())
        {
            value.copy_(state[name]);
        }
    }

    private static void DisposeState(Dictionary<string, Tensor>? state)
    {
        if (state is null)
        {
            return;
        }
        foreach (var value in state.Values)
        {
            value.Dispose();
        }
    }
}
