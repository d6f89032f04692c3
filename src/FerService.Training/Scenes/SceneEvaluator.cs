using System.Globalization;
using System.Text.Json;
using FerService.Inference.Classification;
using FerService.Evaluation;
using FerService.Inference.Detection;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.Extensions.DependencyInjection;

namespace FerService.Training.Scenes;

/// <summary>
/// <c>evaluate-scenes</c>: pastes FER2013 faces into generated photos (<see cref="SceneGenerator"/>) and sends each
/// through the service's own pipeline with its default settings (or the ones given), then matches the reported boxes to
/// the truth and compares the labels with those of the same faces' crops.
/// </summary>
internal sealed class SceneEvaluator(TextWriter output)
{
    private const double MatchIou = 0.4;
    private static readonly double[] IouQuantiles = [0.05, 0.25, 0.5, 0.75, 0.95];

    /// <param name="settings">Option overrides as <c>Section:Property</c> → value, e.g. <c>Detection:MaxInputSide</c> → 800.</param>
    /// <param name="facesCsv">Where to write one line per true face (size, place, best IoU, box ratio), for finding out why faces are missed.</param>
    /// <param name="root">What relative model paths resolve against: the repository root, as the service's output holds models/ beside it.</param>
    public SceneMetrics Run(string dataPath, string usage, int faceCount, int seed, IReadOnlyDictionary<string, string> settings, string? facesCsv = null,
        string? root = null)
    {
        var split = ReadSplit(dataPath, usage, int.MaxValue);
        var count = Math.Min(faceCount, split.Count);
        var rows = new int[count];
        for (var i = 0; i < count; i++)
        {
            rows[i] = (int)((long)i * split.Count / count);
        }

        var services = ServicePipeline.Build(settings, Path.GetFullPath(root ?? "."));
        try
        {
            return Measure(split, rows, seed, services, settings, facesCsv);
        }
        finally
        {
            services.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private SceneMetrics Measure(Fer2013Split split, int[] rows, int seed, ServiceProvider services, IReadOnlyDictionary<string, string> settings, string? facesCsv)
    {
        var usage = split.Usage;
        var pipeline = services.GetRequiredService<EmotionPipeline>();
        var classifierCard = services.GetRequiredService<Inference.Classification.IEmotionClassifier>().Manifest;
        var detectAll = ServicePipeline.DetectAll(services);
        var wholeImage = detectAll with { Detect = false };

        var faceRows = new List<int>();
        var sceneLabels = new List<int>();   // -1: not found
        var truths = new List<BoxF>();
        var sceneBoxes = new List<BoxF[]>();
        var bestIous = new List<double>();
        var sideRatios = new List<double>();
        var offsetsX = new List<double>();
        var offsetsY = new List<double>();
        int scenes = 0, foundAt05 = 0, falseFaces = 0;
        // One line per true face (its index into faceRows) or false face (-1); labels are appended once the crops are classified.
        var csvLines = new List<(int Face, string Text)>();
        // Scenes are analysed a few at a time, as concurrent requests would be, so the classifier batches across them.
        var generated = SceneGenerator.Generate(split, rows, seed).ToList();
        var analyses = ServicePipeline.AnalyzeAll(pipeline, generated.Select(s => (ReadOnlyMemory<byte>)s.Encoded).ToList(), detectAll);
        for (var s = 0; s < generated.Count; s++)
        {
            var scene = generated[s];
            var faces = analyses[s].Faces;
            scenes++;
            var matched = new bool[faces.Count];
            foreach (var (row, truth) in scene.Faces)
            {
                var best = -1;
                var bestIou = 0.0;
                for (var d = 0; d < faces.Count; d++)
                {
                    var iou = BoxF.IntersectionOverUnion(truth, faces[d].Box);
                    if (!matched[d] && iou > bestIou)
                    {
                        (best, bestIou) = (d, iou);
                    }
                }
                faceRows.Add(row);
                bestIous.Add(bestIou);
                truths.Add(truth);
                sceneBoxes.Add([.. faces.Select(f => f.Box)]);
                csvLines.Add((faceRows.Count - 1, string.Create(CultureInfo.InvariantCulture,
                    $"{s},{row},{scene.Width},{scene.Height},{scene.ExifOrientation},{truth.X},{truth.Y},{truth.Width},{bestIou:F3},{(best >= 0 ? MathF.Sqrt(faces[best].Box.Area) : 0):F1},{(best >= 0 ? faces[best].Score : 0):F3},{SceneFacesCsv.Geometry(best >= 0 ? faces[best] : null)}")));
                if (best >= 0 && bestIou >= MatchIou)
                {
                    matched[best] = true;
                    foundAt05 += bestIou >= 0.5 ? 1 : 0;
                    sceneLabels.Add(Softmax.ArgMax(faces[best].ClassProbabilities.Span));
                    var box = faces[best].Box;
                    sideRatios.Add(Math.Sqrt(box.Width * box.Height) / truth.Width);
                    offsetsX.Add((box.CenterX - truth.CenterX) / truth.Width);
                    offsetsY.Add((box.CenterY - truth.CenterY) / truth.Height);
                }
                else
                {
                    sceneLabels.Add(-1);
                }
            }
            var falseInScene = 0;
            for (var d = 0; d < faces.Count; d++)
            {
                if (!matched[d])
                {
                    falseInScene++;
                    csvLines.Add((-1, string.Create(CultureInfo.InvariantCulture,
                        $"{s},-1,{scene.Width},{scene.Height},{scene.ExifOrientation},{faces[d].Box.X:F0},{faces[d].Box.Y:F0},0,0,{MathF.Sqrt(faces[d].Box.Area):F1},{faces[d].Score:F3},{SceneFacesCsv.Geometry(faces[d])}")));
                }
            }
            falseFaces += falseInScene;
        }

        // Each face alone, large and centred: the box the detector gives it without any scene around it.
        var alone = ServicePipeline.AnalyzeAll(pipeline, faceRows.Select(r => (ReadOnlyMemory<byte>)FaceAlone.Encode(split.Image(r))).ToList(), detectAll);
        int detectable = 0, foundOfDetectable = 0;
        var consistency = new List<double>();
        for (var i = 0; i < faceRows.Count; i++)
        {
            if (FaceAlone.MapBox(alone[i], truths[i]) is not { } expected)
            {
                continue;
            }
            detectable++;
            var best = 0.0;
            foreach (var box in sceneBoxes[i])
            {
                best = Math.Max(best, BoxF.IntersectionOverUnion(expected, box));
            }
            foundOfDetectable += best >= 0.5 ? 1 : 0;
            if (best > 0)
            {
                consistency.Add(best);
            }
        }

        var crops = faceRows.Select(r => (ReadOnlyMemory<byte>)EncodeGrey(split.Image(r))).ToList();
        var cropAnalyses = ServicePipeline.AnalyzeAll(pipeline, crops, wholeImage);
        int found = 0, correctFound = 0, correctFoundCrops = 0, correctCrops = 0;
        for (var i = 0; i < faceRows.Count; i++)
        {
            var truth = split.Labels[faceRows[i]];
            var cropCorrect = Softmax.ArgMax(cropAnalyses[i].Faces[0].ClassProbabilities.Span) == truth;
            correctCrops += cropCorrect ? 1 : 0;
            if (sceneLabels[i] >= 0)
            {
                found++;
                correctFound += sceneLabels[i] == truth ? 1 : 0;
                correctFoundCrops += cropCorrect ? 1 : 0;
            }
        }
        if (facesCsv is not null)
        {
            SceneFacesCsv.Write(facesCsv, csvLines, faceRows, split, sceneLabels, cropAnalyses);
        }
        var total = Math.Max(1, faceRows.Count);
        var foundCount = Math.Max(1, found);
        bestIous.Sort();
        var metrics = new SceneMetrics(usage, scenes, faceRows.Count, Round((double)found / total), Round((double)foundAt05 / total),
            Round((double)falseFaces / Math.Max(1, scenes)),
            [.. IouQuantiles.Select(p => Round(Quantiles.Percentile(bestIous, p)))],
            Round((double)correctFound / foundCount), Round((double)correctFoundCrops / foundCount),
            Round((double)correctFound / total), Round((double)correctCrops / total),
            Round(Quantiles.Median(sideRatios)), [Round(Quantiles.Median(offsetsX)), Round(Quantiles.Median(offsetsY))],
            Round((double)detectable / total), Round((double)foundOfDetectable / Math.Max(1, detectable)), Round(Quantiles.Median(consistency)),
            classifierCard.Name + " " + classifierCard.Sha256[..12], settings);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{usage}: {metrics.Faces} faces in {scenes} scenes; found {metrics.FoundAt04:P2} at IoU ≥ 0.4 ({metrics.FoundAt05:P2} at 0.5), {metrics.FalseFacesPerImage:F3} false faces per image"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"accuracy: found faces {metrics.AccuracyFound:P2} vs their crops {metrics.AccuracyFoundCrops:P2}; end to end {metrics.AccuracyEndToEnd:P2} vs all crops {metrics.AccuracyCrops:P2}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"alone: {metrics.DetectableAlone:P2} of faces detectable; of those {metrics.FoundOfDetectable:P2} found in the scene with the same box (IoU ≥ 0.5), median IoU {metrics.ViewConsistency:F3}"));
        output.WriteLine(JsonSerializer.Serialize(metrics, JsonOptions));
        return metrics;
    }

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    internal static Fer2013Split ReadSplit(string dataPath, string usage, int maxRows) =>
        Fer2013Reader.Read(dataPath, [usage], maxRows).GetValueOrDefault(usage)
            ?? throw new ArgumentException($"{dataPath} has no rows with Usage '{usage}'.");

    private static byte[] EncodeGrey(ReadOnlySpan<byte> grey)
    {
        using var image = SceneGenerator.FaceImage(grey);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static double Round(double value) => Math.Round(value, 4);
}
