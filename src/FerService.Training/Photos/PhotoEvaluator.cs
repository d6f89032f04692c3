using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using FerService.Serving;
using FerService.Training.Scenes;
using Microsoft.Extensions.DependencyInjection;

namespace FerService.Training.Photos;

/// <summary>One photo's expected face count: a count in [Min, Max] is right. <c>drawn</c> photos accept 0 as well.</summary>
internal sealed record PhotoLabel(int Min, int Max, string Kind);

/// <summary>How one kind of photo (or all of them) was counted.</summary>
internal sealed record PhotoTally(int Images, int Right, int Over, int Under);

/// <summary>What <see cref="PhotoEvaluator"/> measures over a labelled folder; serialised as one JSON line.</summary>
/// <param name="PortraitsWithExtraFace">Portraits (one person) reported with more faces than their label allows: the duplicate-box failure.</param>
/// <param name="CpuMsPerImage">Process CPU time per photo, photos one at a time: decode, detection, alignment and classification.</param>
/// <param name="DecodeMs">Mean wall time of decoding; with one photo at a time, close to its CPU time.</param>
/// <param name="DetectMs">Mean wall time of detection and alignment.</param>
internal sealed record PhotoMetrics(int Images, int Right, int Over, int Under, IReadOnlyDictionary<string, PhotoTally> ByKind,
    int PortraitsWithExtraFace, int Failed, double CpuMsPerImage, double DecodeMs, double DetectMs, IReadOnlyDictionary<string, string> Settings);

/// <summary>
/// <c>evaluate-photos</c>: real photos, each with the number of faces a user expects (<c>labels.json</c>), through the
/// service's own pipeline with its defaults or the settings given; counts the photos whose reported face count is right.
/// </summary>
internal sealed class PhotoEvaluator(TextWriter output)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <param name="folder">Holds <c>labels.json</c> and the photos in <c>images/</c>.</param>
    /// <param name="csvPath">Where to write one line per photo: its label, the count reported and each box.</param>
    public PhotoMetrics Run(string folder, IReadOnlyDictionary<string, string> settings, string? csvPath = null, string? root = null)
    {
        var labels = ReadLabels(Path.Combine(folder, "labels.json"));
        var services = ServicePipeline.Build(settings, Path.GetFullPath(root ?? "."));
        try
        {
            var pipeline = services.GetRequiredService<EmotionPipeline>();
            var detection = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DetectionOptions>>().Value;
            // The service's own defaults for a request without options.
            var request = new AnalysisRequest(true, detection.DefaultRequest(Inference.EmotionAnalyzer.DefaultMaxFaces));
            var photos = labels.Keys.Order(StringComparer.Ordinal).ToList();
            var data = photos.Select(name => File.ReadAllBytes(Path.Combine(folder, "images", name))).ToList();
            // One untimed pass loads the models' kernels and pools, then the measured pass, one photo at a time.
            _ = pipeline.AnalyzeAsync(data[0], request, CancellationToken.None).GetAwaiter().GetResult();
            var csv = new StringBuilder("image,kind,min,max,reported,verdict,scores,boxes\n");
            var kinds = new SortedDictionary<string, int[]>(StringComparer.Ordinal);
            int right = 0, over = 0, under = 0, extraPortraits = 0, failed = 0;
            double decodeMs = 0, detectMs = 0;
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < photos.Count; i++)
            {
                var label = labels[photos[i]];
                ImageAnalysis? analysis = null;
                try
                {
                    analysis = pipeline.AnalyzeAsync(data[i], request, CancellationToken.None).GetAwaiter().GetResult();
                }
                catch (ImageDecodeException e)
                {
                    failed++;
                    output.WriteLine($"{photos[i]}: {e.Message}");
                }
                var count = analysis?.Faces.Count ?? -1;
                var verdict = Verdict(label, count);
                right += verdict == 0 ? 1 : 0;
                over += verdict > 0 ? 1 : 0;
                under += verdict < 0 ? 1 : 0;
                extraPortraits += verdict > 0 && label.Kind == "portrait" ? 1 : 0;
                if (!kinds.TryGetValue(label.Kind, out var tally))
                {
                    kinds[label.Kind] = tally = new int[4];
                }
                tally[0]++;
                tally[verdict == 0 ? 1 : verdict > 0 ? 2 : 3]++;
                if (analysis is not null)
                {
                    decodeMs += analysis.Timings.DecodeMs;
                    detectMs += analysis.Timings.DetectMs;
                }
                csv.Append(CultureInfo.InvariantCulture,
                    $"{photos[i]},{label.Kind},{label.Min},{label.Max},{count},{(verdict == 0 ? "right" : verdict > 0 ? "over" : "under")},{Scores(analysis)},{Boxes(analysis)}\n");
            }
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds;
            if (csvPath is not null)
            {
                File.WriteAllText(csvPath, csv.ToString());
            }
            var byKind = kinds.ToDictionary(k => k.Key, k => new PhotoTally(k.Value[0], k.Value[1], k.Value[2], k.Value[3]));
            var n = photos.Count;
            var metrics = new PhotoMetrics(n, right, over, under, byKind, extraPortraits, failed, Math.Round(cpu / n, 2),
                Math.Round(decodeMs / n, 2), Math.Round(detectMs / n, 2), settings);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{right} of {n} photos counted right ({over} over, {under} under; {extraPortraits} portraits with an extra face); {metrics.CpuMsPerImage:F1} ms CPU per photo (decode {metrics.DecodeMs:F1}, detect and align {metrics.DetectMs:F1})"));
            output.WriteLine(JsonSerializer.Serialize(metrics, JsonOptions));
            return metrics;
        }
        finally
        {
            services.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>0 right, 1 too many faces, −1 too few (or the photo failed). A drawn photo may also show none.</summary>
    internal static int Verdict(PhotoLabel label, int count) =>
        count < 0 ? -1
        : count > label.Max ? 1
        : count >= label.Min || (label.Kind == "drawn" && count == 0) ? 0
        : -1;

    /// <summary>The <c>images</c> object of labels.json: file name → min, max and kind.</summary>
    internal static Dictionary<string, PhotoLabel> ReadLabels(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{path}' does not exist: evaluate-photos needs a folder with labels.json and images/.", path);
        }
        var file = JsonSerializer.Deserialize<LabelFile>(File.ReadAllText(path), JsonOptions);
        if (file?.Images is not { Count: > 0 } images)
        {
            throw new InvalidDataException($"'{path}' has no images.");
        }
        var labels = new Dictionary<string, PhotoLabel>(images.Count, StringComparer.Ordinal);
        foreach (var (name, entry) in images)
        {
            if (entry.Min < 0 || entry.Max < entry.Min || string.IsNullOrEmpty(entry.Kind) || name.Contains('/', StringComparison.Ordinal))
            {
                throw new InvalidDataException($"'{path}': '{name}' needs 0 ≤ min ≤ max and a kind.");
            }
            labels[name] = new PhotoLabel(entry.Min, entry.Max, entry.Kind);
        }
        return labels;
    }

    private static string Scores(ImageAnalysis? analysis) =>
        analysis is null ? "" : string.Join(' ', analysis.Faces.Select(f => f.Score.ToString("F2", CultureInfo.InvariantCulture)));

    private static string Boxes(ImageAnalysis? analysis) =>
        analysis is null ? "" : string.Join(' ', analysis.Faces.Select(f => string.Create(CultureInfo.InvariantCulture,
            $"{f.Box.X:F0}:{f.Box.Y:F0}:{f.Box.Width:F0}:{f.Box.Height:F0}")));

    private sealed record LabelEntry(int Min, int Max, string Kind);

    private sealed record LabelFile([property: JsonPropertyName("images")] Dictionary<string, LabelEntry>? Images);
}
