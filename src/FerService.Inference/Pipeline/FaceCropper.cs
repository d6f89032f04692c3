using System.Diagnostics;
using FerService.Inference.Alignment;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;

namespace FerService.Inference.Pipeline;

/// <summary>One face ready to classify: where it is (source pixels) and its aligned crop.</summary>
internal sealed record PreparedFace(BoxF Box, float Score, FaceLandmarks? Landmarks, float[] Crop);

/// <summary>What decode and detection hand to classification: the crops, and the image only when the caller keeps it.</summary>
internal sealed record Prepared(int Width, int Height, List<PreparedFace> Crops, double DecodeMs, double DetectMs, int DetectorRuns, RgbaImage? Image);

/// <summary>
/// Decode → detect → align, synchronously on the calling thread: the half of the work before classification, shared by
/// <see cref="EmotionAnalyzer"/> (which then classifies at once) and the serving layer's <c>EmotionPipeline</c> (which batches).
/// </summary>
/// <param name="decodeMinLongSide">JPEG and WebP photos are decoded scaled, keeping their long side at least this (0 = full size).</param>
internal sealed class FaceCropper(IImageDecoder decoder, IFaceDetector detector, FaceAligner aligner, DecodeLimits limits,
    int decodeMinLongSide = FaceCropper.ScaledDecodeMinLongSide)
{
    /// <summary>
    /// Photos whose long side is at least twice this are decoded at 1/2, 1/4 or 1/8 scale, keeping the long side at least
    /// this: twice what the detector sees by default, so its closer looks and the crops still get full detail.
    /// Coordinates stay in source pixels.
    /// </summary>
    public const int ScaledDecodeMinLongSide = 1280;

    /// <summary>Decode → detect → align; <paramref name="keepImage"/> hands the decoded image (full size) to the caller.</summary>
    public Prepared Prepare(ReadOnlySpan<byte> data, AnalysisRequest request, bool keepImage, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        // The annotated image is drawn at full size; analysis alone can work on a scaled decode.
        var image = decoder.Decode(data, limits, keepImage ? 0 : decodeMinLongSide);
        try
        {
            var decodeMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            // Decode and detection are synchronous; check between stages so a cancelled request stops early.
            cancellationToken.ThrowIfCancellationRequested();
            var toSourceX = (float)image.SourceWidth / image.Width;
            var toSourceY = (float)image.SourceHeight / image.Height;
            var detectStarted = Stopwatch.GetTimestamp();
            List<PreparedFace> crops;
            var runs = 0;
            if (request.Detect)
            {
                // The request's minimum face size is in source pixels; the detector sees decoded ones.
                var faces = detector.Detect(image, toSourceX == 1 ? request.Detection
                    : request.Detection with { MinFaceSize = request.Detection.MinFaceSize / Math.Max(toSourceX, toSourceY) }, out runs);
                crops = new(faces.Count);
                foreach (var face in faces)
                {
                    var crop = new float[aligner.CropLength];
                    aligner.CropFace(image, face, crop);
                    crops.Add(new(Scale(face.Box, toSourceX, toSourceY), face.Score, Scale(face.Landmarks, toSourceX, toSourceY), crop));
                }
            }
            else
            {
                var crop = new float[aligner.CropLength];
                aligner.CropWhole(image, crop);
                crops = [new(new BoxF(0, 0, image.SourceWidth, image.SourceHeight), 1f, null, crop)];
            }
            var detectMs = Stopwatch.GetElapsedTime(detectStarted).TotalMilliseconds;
            var prepared = new Prepared(image.SourceWidth, image.SourceHeight, crops, decodeMs, detectMs, runs, keepImage ? image : null);
            if (keepImage)
            {
                image = null; // handed over with the crops
            }
            // Otherwise the crops are all that classification needs; the pixels are freed before they wait.
            return prepared;
        }
        finally
        {
            image?.Dispose();
        }
    }

    private static BoxF Scale(BoxF box, float x, float y) => x == 1 && y == 1 ? box : new(box.X * x, box.Y * y, box.Width * x, box.Height * y);

    private static FaceLandmarks Scale(FaceLandmarks l, float x, float y) => x == 1 && y == 1 ? l : l.Scale(x, y);

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
