using System.Diagnostics;
using FerService.Inference.Alignment;
using FerService.Inference.Batching;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;

namespace FerService.Inference.Pipeline;

/// <summary>What a caller asks of one image. <c>Detect = false</c> classifies the whole image as one face.</summary>
public sealed record AnalysisRequest(bool Detect, DetectionRequest Detection);

/// <summary>A classified face. <see cref="Face"/> is null when detection was off (the whole image is the face).</summary>
public sealed record FaceResult(BoxF Box, float Score, FaceLandmarks? Landmarks, float[] Probabilities);

public sealed record AnalysisTimings(double DecodeMs, double DetectMs, double ClassifyMs);

public sealed record ImageAnalysis(int Width, int Height, IReadOnlyList<FaceResult> Faces, AnalysisTimings Timings);

/// <summary>decode → detect → align → (batched) classify for one image.</summary>
/// <summary>Section <c>Fer:Pipeline</c>.</summary>
public sealed class PipelineOptions
{
    public const string Section = "Fer:Pipeline";

    /// <summary>
    /// Classify each face and its mirror image and average the probabilities, for twice the classifier work (small next to
    /// detection). It has raised PublicTest accuracy with every model so far (docs/model-card.md).
    /// </summary>
    public bool FlipAveraging { get; set; } = true;

    /// <summary>
    /// JPEG and WebP images whose longer side is at least twice this are decoded at 1/2, 1/4 or 1/8 scale, keeping the longer
    /// side ≥ this (0 = always full size). At 1280 no face the detector can find (≥ ~20 px in a 256 view of a half-image tile)
    /// ends up under the classifier's 48 px input, so recall and crops keep their quality. Coordinates stay in source pixels.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, 16_384)]
    public int DecodeMinLongSide { get; set; } = 1280;

    /// <summary>
    /// Images decoded, detected and aligned at once across all requests and pipelines (0 = one per core); the others wait
    /// their turn in arrival order. On a CPU-bound box more at once only share the cores: each takes longer, none
    /// finishes sooner, and a large image holds every smaller one back. Classification stays batched across them all.
    /// Each is a thread of its own.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, 256)]
    public int MaxConcurrentImages { get; set; }

    /// <summary><see cref="MaxConcurrentImages"/> with 0 resolved to the number of cores.</summary>
    public int ConcurrentImages => Onnx.CoreCount.OrMultiple(MaxConcurrentImages, 1);
}

/// <param name="workers">Decode, detect and align <see cref="PipelineOptions.ConcurrentImages"/> images at once, in arrival order; shared by every pipeline of a host.</param>
public sealed class EmotionPipeline(IImageDecoder decoder, IFaceDetector detector, FaceAligner aligner, BatchScheduler scheduler, DecodeLimits limits,
    PipelineOptions options, ImageWorkers workers)
{
    private readonly FaceCropper _cropper = new(decoder, detector, aligner, limits, options.DecodeMinLongSide);

    /// <exception cref="ImageDecodeException">The image is unsupported, corrupt or too large.</exception>
    /// <exception cref="QueueFullException">The classifier queue is full.</exception>
    public async Task<ImageAnalysis> AnalyzeAsync(ReadOnlyMemory<byte> data, AnalysisRequest request, CancellationToken cancellationToken) =>
        (await AnalyzeCoreAsync(data, request, keepImage: false, cancellationToken).ConfigureAwait(false)).Analysis;

    /// <summary>Like <see cref="AnalyzeAsync"/>, and hands over the decoded image (displayed orientation); the caller disposes it.</summary>
    public async Task<(ImageAnalysis Analysis, RgbaImage Image)> AnalyzeWithImageAsync(ReadOnlyMemory<byte> data, AnalysisRequest request,
        CancellationToken cancellationToken)
    {
        var (analysis, image) = await AnalyzeCoreAsync(data, request, keepImage: true, cancellationToken).ConfigureAwait(false);
        return (analysis, image!);
    }

    private async Task<(ImageAnalysis Analysis, RgbaImage? Image)> AnalyzeCoreAsync(ReadOnlyMemory<byte> data, AnalysisRequest request, bool keepImage,
        CancellationToken cancellationToken)
    {
        var prepared = await workers.RunAsync(() => _cropper.Prepare(data.Span, request, keepImage, cancellationToken), cancellationToken).ConfigureAwait(false);
        var image = prepared.Image;
        try
        {
            var crops = prepared.Crops;
            var classifyStarted = Stopwatch.GetTimestamp();
            var views = options.FlipAveraging ? 2 : 1;
            var pending = new Task<float[]>[crops.Count * views];
            for (var i = 0; i < crops.Count; i++)
            {
                pending[i * views] = scheduler.ClassifyAsync(crops[i].Crop, cancellationToken);
                if (options.FlipAveraging)
                {
                    pending[i * views + 1] = scheduler.ClassifyAsync(Mirror(crops[i].Crop, aligner.Input.Width), cancellationToken);
                }
            }
            var probabilities = await Task.WhenAll(pending).ConfigureAwait(false);
            var results = new FaceResult[crops.Count];
            for (var i = 0; i < crops.Count; i++)
            {
                var face = probabilities[i * views];
                if (options.FlipAveraging)
                {
                    var mirrored = probabilities[i * views + 1];
                    for (var c = 0; c < face.Length; c++)
                    {
                        face[c] = (face[c] + mirrored[c]) / 2;
                    }
                }
                results[i] = new FaceResult(crops[i].Box, crops[i].Score, crops[i].Landmarks, face);
            }
            var classifyMs = Stopwatch.GetElapsedTime(classifyStarted).TotalMilliseconds;
            InferenceMetrics.DecodeSeconds.Record(prepared.DecodeMs / 1000);
            InferenceMetrics.DetectSeconds.Record(prepared.DetectMs / 1000);
            InferenceMetrics.ClassifySeconds.Record(classifyMs / 1000);
            InferenceMetrics.FacesPerImage.Record(results.Length);
            var analysis = new ImageAnalysis(prepared.Width, prepared.Height, results, new AnalysisTimings(prepared.DecodeMs, prepared.DetectMs, classifyMs));
            var kept = image;
            image = null; // ownership moves to the caller
            return (analysis, kept);
        }
        finally
        {
            image?.Dispose();
        }
    }

    /// <summary>The crop mirrored left-right: every row (of every channel plane) reversed.</summary>
    internal static float[] Mirror(float[] crop, int width)
    {
        var mirrored = new float[crop.Length];
        Mirror(crop, mirrored, width);
        return mirrored;
    }

    internal static void Mirror(ReadOnlySpan<float> crop, Span<float> mirrored, int width)
    {
        for (var row = 0; row < crop.Length; row += width)
        {
            var target = mirrored.Slice(row, width);
            crop.Slice(row, width).CopyTo(target);
            target.Reverse();
        }
    }
}
