using System.Globalization;
using System.Text.Json;
using FerService.Inference.Classification;
using FerService.Evaluation;
using FerService.Inference.Detection;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FerService.Training.Scenes;

/// <summary>What <see cref="SceneEvaluator"/> measures over a set of generated scenes; serialised as one JSON line.</summary>
/// <param name="FoundAt04">True faces matched by a reported box with IoU ≥ 0.4 (one box per face).</param>
/// <param name="FalseFacesPerImage">Reported boxes that match no true face at IoU ≥ 0.4, per scene.</param>
/// <param name="IouPercentiles">p5, p25, p50, p75, p95 of each true face's best IoU (0 when nothing overlaps it).</param>
/// <param name="AccuracyFound">The found faces, labelled from the scene.</param>
/// <param name="AccuracyFoundCrops">The same faces, labelled from their FER2013 crops (detect=false).</param>
/// <param name="AccuracyEndToEnd">All true faces; a missed face counts as wrong.</param>
/// <param name="AccuracyCrops">All true faces from their crops: what end to end is compared with.</param>
/// <param name="BoxSideRatio">Median reported side over true side, for the found faces.</param>
/// <param name="BoxCenterOffset">Median (x, y) offset of the reported box centre from the true one, in true sides.</param>
/// <param name="DetectableAlone">Faces the detector finds when the face is alone: upscaled to 192 px in the middle of a plain canvas.</param>
/// <param name="FoundOfDetectable">Of those, the share the scene finds at IoU ≥ 0.5 with the box found alone (mapped into the scene).</param>
/// <param name="ViewConsistency">Median IoU between a face's box in the scene and its box found alone: 1 means the view does not matter.</param>
internal sealed record SceneMetrics(string Usage, int Scenes, int Faces, double FoundAt04, double FoundAt05, double FalseFacesPerImage,
    double[] IouPercentiles, double AccuracyFound, double AccuracyFoundCrops, double AccuracyEndToEnd, double AccuracyCrops,
    double BoxSideRatio, double[] BoxCenterOffset, double DetectableAlone, double FoundOfDetectable, double ViewConsistency,
    string Classifier, IReadOnlyDictionary<string, string> Settings);

/// <summary>
/// <c>evaluate-scenes</c>: pastes FER2013 faces into generated photos (<see cref="SceneGenerator"/>) and sends each
/// through the service's own pipeline with its default settings (or the ones given), then matches the reported boxes to
/// the truth and compares the labels with those of the same faces' crops.
/// </summary>
internal sealed class SceneEvaluator(TextWriter output)
{
    private const double MatchIou = 0.4;
    private static readonly double[] IouQuantiles = [0.05, 0.25, 0.5, 0.75, 0.95];

    /// <param name="settings">Option overrides as <c>Section:Property</c> → value, e.g. <c>Detection:BoxScale</c> → 1.2.</param>
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

        var services = BuildPipeline(settings, Path.GetFullPath(root ?? "."));
        try
        {
            return Measure(split, rows, seed, services, settings, facesCsv);
        }
        finally
        {
            services.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// <c>framing</c>: where the service's detector puts each face of a split, found alone (the face upscaled on a plain
    /// canvas, as for <see cref="SceneMetrics.DetectableAlone"/>), written as <see cref="FaceFraming"/> lines for
    /// <c>train --framing</c>, so training can show the classifier the crops the pipeline will cut.
    /// </summary>
    public void WriteFramings(string dataPath, string usage, string outPath, IReadOnlyDictionary<string, string> settings, string? root = null,
        int maxRows = int.MaxValue)
    {
        var split = ReadSplit(dataPath, usage, maxRows);
        var services = BuildPipeline(settings, Path.GetFullPath(root ?? "."));
        try
        {
            var pipeline = services.GetRequiredService<EmotionPipeline>();
            var detectAll = DetectAll(services);
            var face = new BoxF(0, 0, Fer2013Split.Side, Fer2013Split.Side);
            var framings = new List<FaceFraming>(split.Count);
            // A chunk at a time: each alone image is a few hundred kilobytes of PNG.
            const int Chunk = 512;
            for (var start = 0; start < split.Count; start += Chunk)
            {
                var count = Math.Min(Chunk, split.Count - start);
                var images = new List<ReadOnlyMemory<byte>>(count);
                for (var row = start; row < start + count; row++)
                {
                    images.Add(Alone(split.Image(row)));
                }
                var analyses = AnalyzeAll(pipeline, images, detectAll);
                for (var i = 0; i < count; i++)
                {
                    if (BoxAlone(analyses[i], face) is { } box)
                    {
                        framings.Add(FaceFraming.FromBox(start + i, box, Fer2013Split.Side));
                    }
                }
            }
            FaceFraming.Write(outPath, framings);
            var scales = framings.Select(f => f.Scale).Order().ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{usage}: {framings.Count} of {split.Count} faces framed ({(double)framings.Count / Math.Max(1, split.Count):P2}); crop side over face side p5 {Percentile(scales, 0.05):F3}, median {Percentile(scales, 0.5):F3}, p95 {Percentile(scales, 0.95):F3}; wrote {outPath}"));
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
        var detectAll = DetectAll(services);
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
        var analyses = AnalyzeAll(pipeline, generated.Select(s => (ReadOnlyMemory<byte>)s.Encoded).ToList(), detectAll);
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
                    $"{s},{row},{scene.Width},{scene.Height},{scene.ExifOrientation},{truth.X},{truth.Y},{truth.Width},{bestIou:F3},{(best >= 0 ? MathF.Sqrt(faces[best].Box.Area) : 0):F1},{(best >= 0 ? faces[best].Score : 0):F3},{Geometry(best >= 0 ? faces[best] : null)}")));
                if (best >= 0 && bestIou >= MatchIou)
                {
                    matched[best] = true;
                    foundAt05 += bestIou >= 0.5 ? 1 : 0;
                    sceneLabels.Add(Softmax.ArgMax(faces[best].Probabilities));
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
                        $"{s},-1,{scene.Width},{scene.Height},{scene.ExifOrientation},{faces[d].Box.X:F0},{faces[d].Box.Y:F0},0,0,{MathF.Sqrt(faces[d].Box.Area):F1},{faces[d].Score:F3},{Geometry(faces[d])}")));
                }
            }
            falseFaces += falseInScene;
        }

        // Each face alone, large and centred: the box the detector gives it without any scene around it.
        var alone = AnalyzeAll(pipeline, faceRows.Select(r => (ReadOnlyMemory<byte>)Alone(split.Image(r))).ToList(), detectAll);
        int detectable = 0, foundOfDetectable = 0;
        var consistency = new List<double>();
        for (var i = 0; i < faceRows.Count; i++)
        {
            if (BoxAlone(alone[i], truths[i]) is not { } expected)
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
        var cropAnalyses = AnalyzeAll(pipeline, crops, wholeImage);
        int found = 0, correctFound = 0, correctFoundCrops = 0, correctCrops = 0;
        for (var i = 0; i < faceRows.Count; i++)
        {
            var truth = split.Labels[faceRows[i]];
            var cropCorrect = Softmax.ArgMax(cropAnalyses[i].Faces[0].Probabilities) == truth;
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
            WriteFacesCsv(facesCsv, csvLines, faceRows, split, sceneLabels, cropAnalyses);
        }
        var total = Math.Max(1, faceRows.Count);
        var foundCount = Math.Max(1, found);
        bestIous.Sort();
        var metrics = new SceneMetrics(usage, scenes, faceRows.Count, Round((double)found / total), Round((double)foundAt05 / total),
            Round((double)falseFaces / Math.Max(1, scenes)),
            [.. IouQuantiles.Select(p => Round(Percentile(bestIous, p)))],
            Round((double)correctFound / foundCount), Round((double)correctFoundCrops / foundCount),
            Round((double)correctFound / total), Round((double)correctCrops / total),
            Round(Median(sideRatios)), [Round(Median(offsetsX)), Round(Median(offsetsY))],
            Round((double)detectable / total), Round((double)foundOfDetectable / Math.Max(1, detectable)), Round(Median(consistency)),
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

    /// <summary>The service's pipeline as <c>AddEmotionPipeline</c> wires it; relative model paths resolved against <paramref name="root"/>.</summary>
    internal static ServiceProvider BuildPipeline(IReadOnlyDictionary<string, string> settings, string root)
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddEmotionPipeline();
        var remaining = new Dictionary<string, string>(settings, StringComparer.OrdinalIgnoreCase);
        services.Configure<DetectionOptions>(o =>
        {
            Apply(o, "Detection", remaining);
            o.ModelPath = Path.GetFullPath(o.ModelPath, root);
        });
        services.Configure<FerModelOptions>(o =>
        {
            Apply(o, "Models", remaining);
            o.ClassifierManifest = Path.GetFullPath(o.ClassifierManifest, root);
        });
        services.Configure<PipelineOptions>(o => Apply(o, "Pipeline", remaining));
        services.Configure<BatchingOptions>(o => Apply(o, "Batching", remaining));
        services.Configure<OnnxOptions>(o => Apply(o, "Onnx", remaining));
        var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<EmotionPipeline>();
        if (remaining.Count > 0)
        {
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new ArgumentException($"Unknown setting(s): {string.Join(", ", remaining.Keys)} (use Section:Property, e.g. Detection:BoxScale).");
        }
        return provider;
    }

    private static void Apply(object options, string section, Dictionary<string, string> settings)
    {
        foreach (var property in options.GetType().GetProperties())
        {
            if (settings.Remove($"{section}:{property.Name}", out var value))
            {
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                try
                {
                    property.SetValue(options, type.IsEnum ? Enum.Parse(type, value, ignoreCase: true)
                        : type == typeof(TimeSpan) ? TimeSpan.Parse(value, CultureInfo.InvariantCulture)
                        : Convert.ChangeType(value, type, CultureInfo.InvariantCulture));
                }
                catch (Exception e) when (e is FormatException or InvalidCastException or ArgumentException or OverflowException)
                {
                    throw new ArgumentException($"{section}:{property.Name} cannot be '{value}' ({type.Name} expected).", e);
                }
            }
        }
    }

    /// <summary>The per-face lines with each true face's label, its label from the scene (-1: not found) and from its crop.</summary>
    private static void WriteFacesCsv(string path, List<(int Face, string Text)> lines, List<int> faceRows, Fer2013Split split,
        List<int> sceneLabels, List<ImageAnalysis> cropAnalyses)
    {
        var csv = new System.Text.StringBuilder(
            "scene,row,width,height,orientation,x,y,trueSide,bestIou,reportedSide,score,boxX,boxY,boxW,boxH,reX,reY,leX,leY,noseX,noseY,mouthX,mouthY,label,sceneLabel,cropLabel\n");
        foreach (var (face, text) in lines)
        {
            csv.Append(text);
            if (face >= 0)
            {
                csv.Append(CultureInfo.InvariantCulture,
                    $",{split.Labels[faceRows[face]]},{sceneLabels[face]},{Softmax.ArgMax(cropAnalyses[face].Faces[0].Probabilities)}");
            }
            else
            {
                csv.Append(",,,");
            }
            csv.Append('\n');
        }
        File.WriteAllText(path, csv.ToString());
    }

    private static Fer2013Split ReadSplit(string dataPath, string usage, int maxRows) =>
        Fer2013Reader.Read(dataPath, [usage], maxRows).GetValueOrDefault(usage)
            ?? throw new ArgumentException($"{dataPath} has no rows with Usage '{usage}'.");

    /// <summary>Every face the configured detector finds at its configured threshold, as many as a scene can hold.</summary>
    private static AnalysisRequest DetectAll(ServiceProvider services) => new(true,
        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DetectionOptions>>().Value.DefaultRequest(64));

    private static List<ImageAnalysis> AnalyzeAll(EmotionPipeline pipeline, List<ReadOnlyMemory<byte>> images, AnalysisRequest request)
    {
        const int InFlight = 8;
        var results = new ImageAnalysis[images.Count];
        using var gate = new SemaphoreSlim(InFlight);
        var tasks = new List<Task>(images.Count);
        for (var i = 0; i < images.Count; i++)
        {
            var index = i;
            gate.Wait();
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    results[index] = await pipeline.AnalyzeAsync(images[index], request, CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        Task.WaitAll([.. tasks]);
        return [.. results];
    }

    private const int AloneSide = 192;

    /// <summary>The face upscaled to <see cref="AloneSide"/> in the middle of a mid-grey canvas three times as wide.</summary>
    private static byte[] Alone(ReadOnlySpan<byte> grey)
    {
        using var faceImage = SceneGenerator.FaceImage(grey);
        using var canvasBitmap = new SkiaSharp.SKBitmap(3 * AloneSide, 3 * AloneSide, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Premul);
        using (var canvas = new SkiaSharp.SKCanvas(canvasBitmap))
        {
            canvas.Clear(new SkiaSharp.SKColor(128, 128, 128));
            canvas.DrawImage(faceImage, SkiaSharp.SKRect.Create(AloneSide, AloneSide, AloneSide, AloneSide), new SkiaSharp.SKSamplingOptions(SkiaSharp.SKCubicResampler.Mitchell));
        }
        using var data = canvasBitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The box found for the face alone (centred inside the face square), mapped onto <paramref name="truth"/> in the scene.</summary>
    private static BoxF? BoxAlone(ImageAnalysis analysis, BoxF truth)
    {
        foreach (var face in analysis.Faces)
        {
            var box = face.Box;
            if (box.CenterX >= AloneSide && box.CenterX <= 2 * AloneSide && box.CenterY >= AloneSide && box.CenterY <= 2 * AloneSide)
            {
                var scale = truth.Width / AloneSide;
                return new BoxF(truth.X + (box.X - AloneSide) * scale, truth.Y + (box.Y - AloneSide) * scale, box.Width * scale, box.Height * scale);
            }
        }
        return null;
    }

    private static byte[] EncodeGrey(ReadOnlySpan<byte> grey)
    {
        using var image = SceneGenerator.FaceImage(grey);
        using var data = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    private static string Geometry(FaceResult? face) => face?.Landmarks is not { } l ? ",,,,,,,,,,,"
        : string.Create(CultureInfo.InvariantCulture,
            $"{face.Box.X:F1},{face.Box.Y:F1},{face.Box.Width:F1},{face.Box.Height:F1},{l.RightEye.X:F1},{l.RightEye.Y:F1},{l.LeftEye.X:F1},{l.LeftEye.Y:F1},{l.Nose.X:F1},{l.Nose.Y:F1},{l.Mouth.X:F1},{l.Mouth.Y:F1}");

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.Order().ToList();
        return Percentile(sorted, 0.5);
    }

    private static double Round(double value) => Math.Round(value, 4);
}
