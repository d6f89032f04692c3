using System.Globalization;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using FerService.Tests.Shared;
using static System.FormattableString;

namespace FerService.Benchmarks;

/// <summary>
/// CPU time per image by stage, each stage run alone on this thread over every scene: decode, detection, alignment and
/// the classifier (flip-averaged as configured). Thread CPU time, not wall time: time spent waiting for a core is left
/// out (a host that runs slower still shows).
/// </summary>
internal sealed record StageCpu(double DecodeMs, double DetectMs, double AlignMs, double ClassifyMs,
    double FacesPerImage, IReadOnlyDictionary<int, double> DetectMsByWidth)
{
    private const int Rounds = 3;

    public double TotalMs => DecodeMs + DetectMs + AlignMs + ClassifyMs;

    public static StageCpu Measure(BenchPipeline pipeline, IReadOnlyList<Scene> scenes)
    {
        var decoder = pipeline.Decoder;
        var detector = pipeline.Detector;
        var aligner = pipeline.Aligner;
        var classifier = pipeline.Classifier;
        var request = pipeline.Request.Detection;
        var flip = pipeline.FlipAveraging;
        var cropLength = aligner.CropLength;
        var classes = classifier.Manifest.Labels.Count;

        double decode = 0, detect = 0, align = 0, classify = 0;
        var faces = 0;
        var detectByWidth = new Dictionary<int, (double Ms, int Count)>();
        // Round 0 warms the code paths and ONNX Runtime's buffers for every view shape; it is not counted.
        for (var round = 0; round <= Rounds; round++)
        {
            var counted = round > 0;
            foreach (var scene in scenes)
            {
                var t0 = ThreadCpuMs();
                using var image = decoder.Decode(scene.Encoded, DecodeLimits.Default, FaceCropper.ScaledDecodeMinLongSide);
                var t1 = ThreadCpuMs();
                var found = detector.Detect(image, request);
                var t3 = ThreadCpuMs();
                var views = flip ? 2 : 1;
                var crops = new float[found.Count * views * cropLength];
                for (var f = 0; f < found.Count; f++)
                {
                    aligner.CropFace(image, found[f], crops.AsSpan(f * views * cropLength, cropLength));
                }
                var t4 = ThreadCpuMs();
                if (found.Count > 0)
                {
                    if (flip)
                    {
                        for (var f = 0; f < found.Count; f++)
                        {
                            var at = f * views * cropLength;
                            Inference.Pipeline.FaceCropper.Mirror(crops.AsSpan(at, cropLength), crops.AsSpan(at + cropLength, cropLength), aligner.Input.Width);
                        }
                    }
                    classifier.ComputeLogits(crops, found.Count * views, new float[found.Count * views * classes]);
                }
                var t5 = ThreadCpuMs();
                if (counted)
                {
                    decode += t1 - t0;
                    detect += t3 - t1;
                    align += t4 - t3;
                    classify += t5 - t4;
                    faces += found.Count;
                    var (ms, count) = detectByWidth.GetValueOrDefault(scene.Width);
                    detectByWidth[scene.Width] = (ms + t3 - t1, count + 1);
                }
            }
        }
        double images = Rounds * scenes.Count;
        return new StageCpu(decode / images, detect / images, align / images, classify / images,
            faces / images, detectByWidth.OrderBy(w => w.Key).ToDictionary(w => w.Key, w => w.Value.Ms / w.Value.Count));
    }

    public override string ToString() =>
        Invariant($"CPU by stage (one thread, ms per image, mean of {Rounds} rounds): decode {DecodeMs:F1}, detect {DetectMs:F1}, ")
        + Invariant($"decode + detect {DecodeMs + DetectMs:F1}, align {AlignMs:F2}, classify {ClassifyMs:F1} ({FacesPerImage:F2} faces); total {TotalMs:F1}; ")
        + "detect by photo width " + string.Join(", ", DetectMsByWidth.Select(w => Invariant($"{w.Key}: {w.Value:F1}")));

    /// <summary>
    /// This thread's CPU time from /proc/thread-self/schedstat (its first field: nanoseconds on a CPU). Linux only;
    /// elsewhere NaN, and the figures say so.
    /// </summary>
    private static double ThreadCpuMs()
    {
        try
        {
            var text = File.ReadAllText("/proc/thread-self/schedstat");
            var end = text.IndexOf(' ', StringComparison.Ordinal);
            return long.Parse(text.AsSpan(0, end < 0 ? text.Length : end), CultureInfo.InvariantCulture) / 1e6;
        }
        catch (IOException)
        {
            return double.NaN;
        }
        catch (UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }
}
