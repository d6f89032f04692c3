using System.Globalization;
using System.Text;
using System.Text.Json;
using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Evaluation;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FerService.Training;

/// <summary>
/// Runs the exported ONNX model through ONNX Runtime with the service's own preprocessing
/// (<see cref="FaceAligner.CropWhole"/>, the <c>detect=false</c> path) over FER2013 rows.
/// </summary>
internal sealed class Evaluator(TextWriter output)
{
    private const int Batch = 256;

    /// <param name="updateCard">Write the uncertainty threshold measured here into the model's card (a card written before the threshold existed).</param>
    public ModelMetrics Run(string dataPath, string modelPath, string? usage, string? reportDirectory, bool updateCard = false)
    {
        var manifestPath = Path.ChangeExtension(modelPath, ".json");
        var sessions = Sessions();
        using var classifier = new EmotionClassifier(manifestPath, sessions);
        var manifest = classifier.Manifest;
        var aligner = new FaceAligner(manifest.Input);
        var splits = Fer2013Reader.Read(dataPath, usage is null ? null : [usage]);
        if (splits.Count == 0)
        {
            throw new ArgumentException($"{dataPath} has no rows with Usage '{usage}'.");
        }

        var labels = new List<byte>();
        var logits = new List<float>();
        var flippedLogits = new List<float>();
        foreach (var split in splits.Values)
        {
            labels.AddRange(split.Labels);
            logits.AddRange(Logits(split, classifier, aligner, mirrored: false));
            flippedLogits.AddRange(Logits(split, classifier, aligner, mirrored: true));
        }
        var scope = usage ?? "all rows";
        var (allLogits, allFlipped, allLabels) = (logits.ToArray(), flippedLogits.ToArray(), labels.ToArray());
        var metrics = ClassificationMetrics.Compute(allLogits, allFlipped, allLabels, manifest.Labels, manifest.Temperature, scope);
        Print(metrics, manifest.Labels);
        var uncertainty = ClassificationMetrics.ChooseUncertainty(allLogits, allFlipped, allLabels, manifest.Labels.Count,
            manifest.Temperature, scope);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"uncertain below a top probability of {uncertainty.Threshold}: {uncertainty.ShareFlagged:P1} of faces flagged; accuracy {uncertainty.AccuracyNotFlagged:P2} not flagged, {uncertainty.AccuracyFlagged:P2} flagged"));
        if (updateCard)
        {
            var card = ModelManifest.Load(manifestPath);
            (card with { Uncertainty = uncertainty }).Save(manifestPath);
            output.WriteLine($"wrote the uncertainty threshold into {Path.GetFileName(manifestPath)}");
        }
        if (reportDirectory is not null)
        {
            Directory.CreateDirectory(reportDirectory);
            var stem = $"evaluation-{(usage ?? "all").ToLowerInvariant()}";
            File.WriteAllText(Path.Combine(reportDirectory, stem + ".json"), JsonSerializer.Serialize(metrics, ModelManifest.JsonOptions) + "\n");
            File.WriteAllText(Path.Combine(reportDirectory, stem + "-confusion.svg"), ConfusionMatrixSvg(metrics, manifest.Labels));
            output.WriteLine($"wrote {Path.Combine(reportDirectory, stem)}.json and {stem}-confusion.svg");
        }
        output.WriteLine(JsonSerializer.Serialize(new
        {
            accuracy = metrics.Accuracy,
            count = metrics.Count,
            macroF1 = metrics.MacroF1,
            accuracyFlipAveraged = metrics.AccuracyFlipAveraged,
            usage = scope,
            model = manifest.Sha256,
        }));
        return metrics;
    }

    /// <summary>One run at a time here, unlike the service: each run may use every core (the service's default is one thread).</summary>
    internal static OnnxSessionFactory Sessions() =>
        new(Options.Create(new OnnxOptions { IntraOpThreads = 0 }), NullLogger<OnnxSessionFactory>.Instance);

    internal static float[] Logits(Fer2013Split split, EmotionClassifier classifier, FaceAligner aligner, bool mirrored)
    {
        var classes = classifier.Manifest.Labels.Count;
        var result = new float[split.Count * classes];
        var crops = new float[Batch * aligner.CropLength];
        var row = new byte[Fer2013Split.PixelCount];
        for (var start = 0; start < split.Count; start += Batch)
        {
            var count = Math.Min(Batch, split.Count - start);
            for (var i = 0; i < count; i++)
            {
                split.Image(start + i).CopyTo(row);
                if (mirrored)
                {
                    for (var y = 0; y < Fer2013Split.Side; y++)
                    {
                        row.AsSpan(y * Fer2013Split.Side, Fer2013Split.Side).Reverse();
                    }
                }
                using var image = RgbaImage.FromGrey(row, Fer2013Split.Side, Fer2013Split.Side);
                aligner.CropWhole(image, crops.AsSpan(i * aligner.CropLength, aligner.CropLength));
            }
            classifier.ComputeLogits(crops, count, result.AsSpan(start * classes, count * classes));
        }
        return result;
    }

    private void Print(ModelMetrics metrics, IReadOnlyList<string> labels)
    {
        var culture = CultureInfo.InvariantCulture;
        output.WriteLine(string.Create(culture, $"{metrics.Split}: {metrics.Count} images"));
        output.WriteLine(string.Create(culture, $"accuracy {metrics.Accuracy:P2}  flip-averaged {metrics.AccuracyFlipAveraged:P2}  macro-F1 {metrics.MacroF1:F4}"));
        output.WriteLine(string.Create(culture, $"NLL {metrics.NllBeforeCalibration:F4} -> {metrics.NllAfterCalibration:F4}, ECE(15) {metrics.EceBeforeCalibration:F4} -> {metrics.EceAfterCalibration:F4} with the card's temperature"));
        output.WriteLine($"{"class",-10}{"support",8}{"precision",11}{"recall",8}{"F1",8}");
        foreach (var c in metrics.PerClass!)
        {
            output.WriteLine(string.Create(culture, $"{c.Label,-10}{c.Support,8}{c.Precision,11:F3}{c.Recall,8:F3}{c.F1,8:F3}"));
        }
        output.WriteLine("confusion matrix (rows = true, columns = predicted):");
        output.WriteLine(string.Concat(Enumerable.Repeat("", 1).Append($"{"",-10}").Concat(labels.Select(l => $"{l[..Math.Min(7, l.Length)],8}"))));
        for (var r = 0; r < labels.Count; r++)
        {
            output.WriteLine($"{labels[r],-10}" + string.Concat(metrics.ConfusionMatrix![r].Select(v => $"{v,8}")));
        }
    }

    /// <summary>Row-normalised confusion matrix as a standalone SVG (no external assets).</summary>
    internal static string ConfusionMatrixSvg(ModelMetrics metrics, IReadOnlyList<string> labels)
    {
        const int cell = 64, left = 90, top = 60;
        var n = labels.Count;
        var size = left + n * cell + 20;
        var svg = new StringBuilder();
        var culture = CultureInfo.InvariantCulture;
        svg.Append(culture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{top + n * cell + 50}\" font-family=\"sans-serif\" font-size=\"12\">\n");
        svg.Append(culture, $"<text x=\"{left}\" y=\"20\" font-size=\"14\">{metrics.Split}: accuracy {metrics.Accuracy:P2}, n = {metrics.Count} (rows true, columns predicted)</text>\n");
        for (var r = 0; r < n; r++)
        {
            var row = metrics.ConfusionMatrix![r];
            var total = Math.Max(1, row.Sum());
            svg.Append(culture, $"<text x=\"{left - 6}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"end\">{labels[r]}</text>\n");
            for (var c = 0; c < n; c++)
            {
                var fraction = (double)row[c] / total;
                var shade = (int)(255 - fraction * 200);
                svg.Append(culture, $"<rect x=\"{left + c * cell}\" y=\"{top + r * cell}\" width=\"{cell}\" height=\"{cell}\" fill=\"rgb({shade},{shade},255)\" stroke=\"#fff\"/>");
                svg.Append(culture, $"<text x=\"{left + c * cell + cell / 2}\" y=\"{top + r * cell + cell / 2 + 4}\" text-anchor=\"middle\" fill=\"{(fraction > 0.5 ? "#fff" : "#000")}\">{fraction:0.00}</text>\n");
            }
        }
        for (var c = 0; c < n; c++)
        {
            svg.Append(culture, $"<text x=\"{left + c * cell + cell / 2}\" y=\"{top + n * cell + 18}\" text-anchor=\"middle\">{labels[c]}</text>\n");
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }
}
