using System.Globalization;
using FerService.Evaluation;
using FerService.Inference.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// Writes a trained net as the service loads it: the float32 ONNX model and its card (PublicTest metrics, fitted
/// temperature, uncertainty threshold), then its int8 twin and card. <c>export</c> starts from a checkpoint,
/// <c>quantize</c> from an exported float32 model.
/// </summary>
internal sealed class ModelExporter(TrainOptions options, TextWriter log)
{
    private const int Side = Fer2013Split.Side;
    private const int Classes = Fer2013Reader.ClassCount;

    /// <summary>Training rows whose activation ranges set the int8 model's quantisation (evenly spread over the split).</summary>
    private const int CalibrationRows = 2048;

    public const string ModelFileName = "emotion-fer2013.onnx";
    public const string ManifestFileName = "emotion-fer2013.json";
    public const string Int8ModelFileName = "emotion-fer2013-int8.onnx";
    public const string Int8ManifestFileName = "emotion-fer2013-int8.json";

    /// <summary>Re-exports a saved checkpoint: PublicTest metrics, temperature, both ONNX models and cards (without the training log).</summary>
    public ModelManifest Export(string checkpointPath)
    {
        torch.set_num_threads(options.Threads);
        var splits = Fer2013Reader.Read(options.DataPath, ["Training", "PublicTest"]);
        var (mean, std) = FaceTensors.PixelStatistics(splits["Training"]);
        var validation = splits["PublicTest"];
        using var trainImages = FaceTensors.ToTensor(splits["Training"]);
        using var validationImages = FaceTensors.Normalise(FaceTensors.ToTensor(validation), mean, std);
        using var model = new EmotionNet(options.Architecture, Classes, options.FeatureDropout, options.HeadDropout);
        model.load(checkpointPath);
        var bestSource = $"checkpoint {Path.GetFileName(checkpointPath)}";
        return Finish(model, trainImages, validation, validationImages, mean, std, 0, [],
            TrainingRecipe.Describe(options, bestSource, initSha256: null));
    }

    /// <summary>
    /// Writes the float32 model and card, then the int8 one: calibrated on Training rows, measured on PublicTest
    /// through ONNX Runtime (TorchSharp cannot run it), with a temperature of its own. Returns the float32 card.
    /// </summary>
    public ModelManifest Finish(EmotionNet model, Tensor trainImages, Fer2013Split validation, Tensor validationImages, double mean, double std,
        double wallSeconds, List<EpochLog> epochLog, Dictionary<string, string> recipe)
    {
        model.eval();
        var logits = ModelScoring.Logits(model, validationImages);
        using var flippedImages = validationImages.flip(3);
        var flipped = ModelScoring.Logits(model, flippedImages);
        var (cardMean, cardStd) = (Math.Round(mean, 4), Math.Round(std, 4));
        var manifest = WriteCard(model, ModelFileName, ManifestFileName, "fer2013-vgg", OnnxExporter.Export(model, Side, Side, Classes),
            logits, flipped, validation, cardMean, cardStd, wallSeconds, epochLog, recipe);

        WriteInt8(model, manifest, trainImages, validation, validationImages, mean, std, new Dictionary<string, string>(recipe), training: null, wallSeconds, epochLog);
        return manifest;
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
        using var trainImages = FaceTensors.ToTensor(splits["Training"]);
        using var validationImages = FaceTensors.Normalise(FaceTensors.ToTensor(validation), mean, std);
        using var probe = validationImages.narrow(0, 0, 64);
        var expected = OnnxExporter.Logits(onnx, probe, Classes, options.Threads);
        var actual = ModelScoring.Logits(model, probe);
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
    public static string ArchitectureOf(ModelManifest card, string modelPath)
    {
        var architecture = card.Training?.Recipe?.GetValueOrDefault("architecture") ?? "";
        var (open, close) = (architecture.IndexOf('[', StringComparison.Ordinal), architecture.IndexOf(']', StringComparison.Ordinal));
        return open >= 0 && close > open ? architecture[(open + 1)..close]
            : throw new InvalidDataException($"The card of '{modelPath}' names no architecture '[...]' in its training recipe.");
    }

    private static int HiddenOf(IReadOnlyList<Inference.Onnx.OnnxInitializer> initializers) => (int)initializers.First(i => i.Dims.Length == 2).Dims[0];

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
        using var calibrationImages = FaceTensors.Normalise(calibrationPixels, mean, std);
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
            IntendedUse = ModelCardText.IntendedUse,
            Limitations = ModelCardText.Limitations,
            License = ModelCardText.License,
        };
        manifest.Save(Path.Combine(options.OutputDirectory, manifestFileName));
        log.WriteLine($"wrote {onnxPath} and {manifestFileName} (sha256 {manifest.Sha256})");
        return manifest;
    }
}
