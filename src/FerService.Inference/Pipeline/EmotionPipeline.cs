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
public sealed class EmotionPipeline(IImageDecoder decoder, IFaceDetector detector, FaceAligner aligner, BatchScheduler scheduler, DecodeLimits limits)
{
    public DecodeLimits Limits => limits;

    /// <exception cref="ImageDecodeException">The image is unsupported, corrupt or too large.</exception>
    /// <exception cref="QueueFullException">The classifier queue is full.</exception>
    public async Task<ImageAnalysis> AnalyzeAsync(ReadOnlyMemory<byte> data, AnalysisRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        int width, height;
        List<(BoxF Box, float Score, FaceLandmarks? Landmarks, float[] Crop)> crops;
        double decodeMs, detectMs;
        using (var image = decoder.Decode(data.Span, limits))
        {
            decodeMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            // Decode and detection are synchronous; check between stages so a cancelled request stops early.
            cancellationToken.ThrowIfCancellationRequested();
            width = image.Width;
            height = image.Height;
            var detectStarted = Stopwatch.GetTimestamp();
            if (request.Detect)
            {
                var faces = detector.Detect(image, request.Detection);
                crops = new(faces.Count);
                foreach (var face in faces)
                {
                    var crop = new float[aligner.CropLength];
                    aligner.CropFace(image, face, crop);
                    crops.Add((face.Box, face.Score, face.Landmarks, crop));
                }
            }
            else
            {
                var crop = new float[aligner.CropLength];
                aligner.CropWhole(image, crop);
                crops = [(new BoxF(0, 0, width, height), 1f, null, crop)];
            }
            detectMs = Stopwatch.GetElapsedTime(detectStarted).TotalMilliseconds;
        }
        cancellationToken.ThrowIfCancellationRequested();

        var classifyStarted = Stopwatch.GetTimestamp();
        var pending = new Task<float[]>[crops.Count];
        for (var i = 0; i < crops.Count; i++)
        {
            pending[i] = scheduler.ClassifyAsync(crops[i].Crop, cancellationToken);
        }
        var probabilities = await Task.WhenAll(pending).ConfigureAwait(false);
        var results = new FaceResult[crops.Count];
        for (var i = 0; i < crops.Count; i++)
        {
            results[i] = new FaceResult(crops[i].Box, crops[i].Score, crops[i].Landmarks, probabilities[i]);
        }
        var classifyMs = Stopwatch.GetElapsedTime(classifyStarted).TotalMilliseconds;
        InferenceMetrics.DecodeSeconds.Record(decodeMs / 1000);
        InferenceMetrics.DetectSeconds.Record(detectMs / 1000);
        InferenceMetrics.ClassifySeconds.Record(classifyMs / 1000);
        InferenceMetrics.FacesPerImage.Record(results.Length);
        return new ImageAnalysis(width, height, results, new AnalysisTimings(decodeMs, detectMs, classifyMs));
    }
}
