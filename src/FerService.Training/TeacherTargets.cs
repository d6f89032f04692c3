using System.Globalization;
using System.Security.Cryptography;
using FerService.Evaluation;
using FerService.Inference;
using FerService.Inference.Alignment;
using FerService.Inference.Classification;

namespace FerService.Training;

/// <summary>
/// A teacher's stored soft predictions for every Training face, what a student is distilled from: <c>teach</c> writes
/// them once (an ensemble costs several nets per face, too many to run at every step), <c>train --teacher-targets</c>
/// mixes them into each face's target. Each line holds the teacher's flip-averaged probabilities at its card's
/// temperature, so the student learns the calibrated answer, mirror included.
/// </summary>
internal static class TeacherTargets
{
    private const int Classes = 7;

    /// <summary>Runs the exported model (.onnx beside its card) over the Training rows of <paramref name="dataPath"/> and writes the CSV.</summary>
    public static void Write(string dataPath, string modelPath, string outputPath, TextWriter log, int maxRows = int.MaxValue)
    {
        using var classifier = new EmotionClassifier(Path.ChangeExtension(modelPath, ".json"), Evaluator.Sessions());
        var manifest = classifier.Manifest;
        if (manifest.Labels.Count != Classes)
        {
            throw new InvalidDataException($"{modelPath} has {manifest.Labels.Count} classes; a teacher for FER2013 needs {Classes}.");
        }
        var aligner = new FaceAligner(manifest.Input);
        var splits = Fer2013Reader.Read(dataPath, ["Training"], maxRows);
        var train = splits.TryGetValue("Training", out var split) ? split : throw new ArgumentException($"{dataPath} has no Training rows.");
        var logits = Evaluator.Logits(train, classifier, aligner, mirrored: false);
        var mirroredLogits = Evaluator.Logits(train, classifier, aligner, mirrored: true);

        var probabilities = new float[Classes];
        var mirrored = new float[Classes];
        var agree = 0;
        // Derived from FER2013, so it belongs with the other git-ignored outputs, never beside the code.
        if (Path.GetDirectoryName(Path.GetFullPath(outputPath)) is { } folder)
        {
            Directory.CreateDirectory(folder);
        }
        using (var writer = new StreamWriter(outputPath))
        {
            writer.WriteLine("row," + string.Join(',', manifest.Labels));
            for (var i = 0; i < train.Count; i++)
            {
                Softmax.Compute(logits.AsSpan(i * Classes, Classes), probabilities, manifest.Temperature);
                Softmax.Compute(mirroredLogits.AsSpan(i * Classes, Classes), mirrored, manifest.Temperature);
                ModelCard.AverageWithMirror(probabilities, mirrored);
                agree += Softmax.ArgMax(probabilities) == train.Labels[i] ? 1 : 0;
                writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i},{string.Join(',', probabilities.Select(p => p.ToString("F5", CultureInfo.InvariantCulture)))}"));
            }
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {train.Count} Training faces' predictions of {Path.GetFileName(modelPath)} (temperature {manifest.Temperature}, flip-averaged) to {outputPath}; they agree with the label on {(double)agree / train.Count:P2}"));
    }

    /// <summary>
    /// Row-major probabilities for the first <paramref name="rows"/> Training rows from a file <see cref="Write"/> wrote
    /// (a run on fewer rows reads the head); every one of those rows must be there, each summing to 1.
    /// </summary>
    public static float[] Read(string path, int rows)
    {
        var targets = new float[rows * Classes];
        var seen = new bool[rows];
        using var reader = new StreamReader(path);
        if (reader.ReadLine() is not { } header || !header.StartsWith("row,", StringComparison.Ordinal) || header.Split(',').Length != Classes + 1)
        {
            throw new InvalidDataException($"{path}: not a teacher file (its first line must be 'row' and the {Classes} labels; write it with the teach command).");
        }
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var fields = line.Split(',');
            if (fields.Length != Classes + 1 || !int.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var row) || row < 0)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: expected a row number and {Classes} probabilities, found '{line}'.");
            }
            if (row >= rows)
            {
                continue;
            }
            var sum = 0.0;
            for (var c = 0; c < Classes; c++)
            {
                if (!float.TryParse(fields[c + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out var p) || !(p >= 0 && p <= 1))
                {
                    throw new InvalidDataException($"{path}:{lineNumber}: '{fields[c + 1]}' is not a probability.");
                }
                targets[row * Classes + c] = p;
                sum += p;
            }
            if (Math.Abs(sum - 1) > 1e-3)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: the probabilities sum to {sum:F4}, not 1.");
            }
            seen[row] = true;
        }
        var missing = Array.IndexOf(seen, false);
        if (missing >= 0)
        {
            throw new InvalidDataException($"{path}: no prediction for Training row {missing} (the file must cover every row the run reads).");
        }
        return targets;
    }

    /// <summary>Each face's target: (1 − <paramref name="weight"/>) × its own (smoothed label) + <paramref name="weight"/> × the teacher's.</summary>
    public static void Mix(Span<float> targets, ReadOnlySpan<float> teacher, double weight)
    {
        for (var i = 0; i < targets.Length; i++)
        {
            targets[i] = (float)((1 - weight) * targets[i] + weight * teacher[i]);
        }
    }

    public static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
