using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Evaluation;
using FerService.Inference.Onnx;
using FerService.Training.Onnx;

namespace FerService.Training;

/// <summary>
/// Writes one ONNX graph that runs several exported classifiers on the same input and averages them, with a card of its
/// own measured on PublicTest: float32 from the members given, and int8 from their int8 twins when every member has one.
/// </summary>
internal sealed class Ensembler(TextWriter log)
{
    public const string ModelStem = "emotion-ensemble";
    private const string Split = "PublicTest";

    public ModelManifest Run(string dataPath, IReadOnlyList<string> memberPaths, EnsembleAveraging? averaging, string outputDirectory, string command)
    {
        if (memberPaths.Count < 2)
        {
            throw new ArgumentException("ensemble needs --members with at least two models, comma-separated.");
        }
        var validation = Fer2013Reader.Read(dataPath, [Split]).GetValueOrDefault(Split)
            ?? throw new ArgumentException($"{dataPath} has no {Split} rows.");
        var sessions = Evaluator.Sessions();
        Directory.CreateDirectory(outputDirectory);

        var (floatCard, chosen) = Write(validation, sessions, memberPaths, averaging, outputDirectory, ModelStem, command);
        var twins = memberPaths.Select(Int8TwinOf).ToArray();
        if (Array.Find(twins, twin => !File.Exists(twin)) is { } missing)
        {
            log.WriteLine($"no int8 ensemble: {missing} does not exist");
            return floatCard;
        }
        Write(validation, sessions, twins, chosen, outputDirectory, ModelStem + "-int8", command);
        return floatCard;
    }

    /// <summary>Where <c>quantize</c> writes a model's int8 twin: <c>x.onnx</c> → <c>x-int8.onnx</c>.</summary>
    public static string Int8TwinOf(string modelPath) =>
        Path.Combine(Path.GetDirectoryName(modelPath) ?? "", Path.GetFileNameWithoutExtension(modelPath) + "-int8.onnx");

    /// <summary>Measures each member and each averaging (or the one given), writes the better; returns its card and averaging.</summary>
    private (ModelManifest Card, EnsembleAveraging Averaging) Write(Fer2013Split validation, OnnxSessionFactory sessions, IReadOnlyList<string> memberPaths,
        EnsembleAveraging? averaging, string outputDirectory, string stem, string command)
    {
        var members = new List<ModelMember>();
        var bytes = new List<byte[]>();
        ModelManifest? first = null;
        long parameters = 0;
        foreach (var path in memberPaths)
        {
            var cardPath = Path.ChangeExtension(path, ".json");
            using var classifier = new EmotionClassifier(cardPath, sessions);
            var card = classifier.Manifest;
            first ??= card;
            if (!SameInput(card.Input, first.Input) || !card.Labels.SequenceEqual(first.Labels))
            {
                throw new ArgumentException($"{path} does not read the same input or give the same labels as {memberPaths[0]}.");
            }
            var (logits, flipped) = Measure(classifier, validation);
            var metrics = ClassificationMetrics.Compute(logits, flipped, validation.Labels, card.Labels, card.Temperature, Split);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"member {card.Name} ({path}): accuracy {metrics.Accuracy:P2}, flip-averaged {metrics.AccuracyFlipAveraged:P2}"));
            members.Add(new ModelMember(card.Name, Path.GetRelativePath(outputDirectory, path).Replace('\\', '/'), card.Sha256,
                metrics.Accuracy, metrics.AccuracyFlipAveraged));
            bytes.Add(File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(cardPath))!, card.File)));
            parameters += card.Training?.Parameters ?? 0;
        }
        var input = first!.Input;
        var classes = first.Labels.Count;

        var measured = new List<(EnsembleAveraging Averaging, byte[] Onnx, float[] Logits, float[] Flipped, double Accuracy)>();
        foreach (var candidate in averaging is { } only ? [only] : new[] { EnsembleAveraging.Probabilities, EnsembleAveraging.Logits })
        {
            var onnx = OnnxEnsembleGraph.Build(bytes, candidate, input.Height, input.Width, classes);
            var card = Card(stem, onnx, first, 1.0, members);
            File.WriteAllBytes(Path.Combine(outputDirectory, card.File), onnx);
            card.Save(Path.Combine(outputDirectory, stem + ".json"));
            using var classifier = new EmotionClassifier(Path.Combine(outputDirectory, stem + ".json"), sessions);
            var (logits, flipped) = Measure(classifier, validation);
            var metrics = ClassificationMetrics.Compute(logits, flipped, validation.Labels, first.Labels, 1.0, Split);
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{stem}, {Describe(candidate)}: accuracy {metrics.Accuracy:P2}, flip-averaged {metrics.AccuracyFlipAveraged:P2}"));
            measured.Add((candidate, onnx, logits, flipped, metrics.AccuracyFlipAveraged));
        }
        // The service answers flip-averaged, so that is the figure the averaging is chosen on.
        var best = measured.MaxBy(m => m.Accuracy);
        var temperature = ClassificationMetrics.FitTemperature(best.Logits, validation.Labels, classes);
        var final = Card(stem, best.Onnx, first, temperature, members) with
        {
            Metrics = ClassificationMetrics.Compute(best.Logits, best.Flipped, validation.Labels, first.Labels, temperature, Split),
            Uncertainty = ClassificationMetrics.ChooseUncertainty(best.Logits, best.Flipped, validation.Labels, classes, temperature, Split),
            Training = new ModelTraining
            {
                Data = "FER2013 Training rows (28,709) for every member; members and averaging chosen on PublicTest (3,589); PrivateTest never read",
                Command = command,
                Parameters = parameters,
                Framework = $"ONNX opset {OnnxGraphBuilder.Opset} graph joining the members' graphs (FerService.Training ensemble)",
                Recipe = new Dictionary<string, string>
                {
                    ["averaging"] = Describe(best.Averaging),
                    ["selection"] = string.Join("; ", measured.Select(m => string.Create(CultureInfo.InvariantCulture,
                        $"{Describe(m.Averaging)}: {m.Accuracy:P2} flip-averaged on {Split}"))),
                    ["calibration"] = "one temperature fitted on the ensemble's output",
                },
            },
        };
        File.WriteAllBytes(Path.Combine(outputDirectory, final.File), best.Onnx);
        var finalPath = Path.Combine(outputDirectory, stem + ".json");
        final.Save(finalPath);
        var m = final.Metrics!;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {Path.Combine(outputDirectory, final.File)} and {stem}.json: {members.Count} members, {Describe(best.Averaging)}, accuracy {m.Accuracy:P2}, flip-averaged {m.AccuracyFlipAveraged:P2}, macro-F1 {m.MacroF1:F4}, temperature {temperature}, ECE {m.EceBeforeCalibration:F4} -> {m.EceAfterCalibration:F4}"));
        log.WriteLine(JsonSerializer.Serialize(new
        {
            model = final.Name,
            members = members.Count,
            averaging = best.Averaging.ToString().ToLowerInvariant(),
            accuracy = m.Accuracy,
            accuracyFlipAveraged = m.AccuracyFlipAveraged,
            macroF1 = m.MacroF1,
            sha256 = final.Sha256,
        }));
        return (final, best.Averaging);
    }

    private static bool SameInput(ModelInput a, ModelInput b) =>
        a.Name == b.Name && a.Channels == b.Channels && a.Width == b.Width && a.Height == b.Height && a.Scale.Equals(b.Scale)
        && a.Mean.SequenceEqual(b.Mean) && a.Std.SequenceEqual(b.Std) && a.FaceCropScale.Equals(b.FaceCropScale);

    private static (float[] Logits, float[] Flipped) Measure(EmotionClassifier classifier, Fer2013Split validation)
    {
        var aligner = new FaceAligner(classifier.Manifest.Input);
        return (Evaluator.Logits(validation, classifier, aligner, mirrored: false), Evaluator.Logits(validation, classifier, aligner, mirrored: true));
    }

    private static string Describe(EnsembleAveraging averaging) => averaging == EnsembleAveraging.Logits
        ? "mean of the members' logits"
        : "mean of the members' probabilities (the graph outputs its log)";

    private static ModelManifest Card(string stem, byte[] onnx, ModelManifest first, double temperature, List<ModelMember> members) => new()
    {
        Name = $"fer2013-ensemble{members.Count}{(stem.EndsWith("-int8", StringComparison.Ordinal) ? "-int8" : "")}",
        Version = DateTime.UtcNow.ToString("yyyy.MM.dd", CultureInfo.InvariantCulture),
        File = stem + ".onnx",
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(onnx)),
        Input = first.Input,
        OutputName = OnnxExporter.OutputName,
        Labels = first.Labels,
        Temperature = temperature,
        Members = members,
        IntendedUse = ModelCardText.IntendedUse,
        Limitations = ModelCardText.Limitations,
        License = ModelCardText.License,
    };
}
