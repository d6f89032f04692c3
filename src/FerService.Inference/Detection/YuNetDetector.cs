using System.Buffers;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace FerService.Inference.Detection;

/// <summary>
/// YuNet (libfacedetection's face detector, trained on WIDER Face) through ONNX Runtime: the photo at its own aspect ratio,
/// long side at most <see cref="DetectionOptions.MaxInputSide"/>, padded to whole strides; one run, three strides decoded,
/// closer looks at weak candidates, suppression, back to image pixels.
/// </summary>
internal sealed class YuNetDetector : IFaceDetector, IDisposable
{
    private static readonly int[] Strides = [8, 16, 32];
    private const int Alignment = 32;

    /// <summary>A closer look sees a region this many times the weak candidate's side...</summary>
    private const float CloserLookSpan = 3;

    /// <summary>...scaled so the candidate is about this many pixels, enlarged at most <see cref="CloserLookMaxScale"/> times...</summary>
    private const float CloserLookFaceSide = 96;

    private const float CloserLookMaxScale = 2;

    /// <summary>...which must be at least this much closer than the whole view, or it shows nothing new.</summary>
    private const float CloserLookGain = 1.5f;

    /// <summary>Candidates scoring at least this (below the request's threshold) that no found face explains get a closer look.</summary>
    private const float CloserLookScore = 0.3f;

    /// <summary>Most closer looks per photo, strongest candidates first.</summary>
    private const int MaxCloserLooks = 4;

    /// <summary>Overlap (IoU) above which the weaker of two boxes is dropped.</summary>
    private const float IouThreshold = 0.3f;

    /// <summary>
    /// The weaker of two boxes is also dropped when this share of the smaller lies inside the other, whatever their IoU: a
    /// box around part of a large face, or around a face and its surroundings, is the same face again.
    /// </summary>
    private const float NestedOverlap = 0.5f;

    /// <summary>
    /// Reported box = a square of the detector box's geometric-mean side times this, about the same centre, moved by
    /// <see cref="BoxShift"/> of its side (negative is up). YuNet's boxes run from the brows to the chin; scaled, they frame
    /// the whole face as FER2013's crops do. Fitted to this model on FER2013 Training scenes (docs/decisions/detector.md).
    /// </summary>
    private const float BoxScale = 1.11f;

    private const float BoxShift = -0.017f;

    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly string[] _outputNames;
    private readonly RunOptions _runOptions = new();

    public YuNetDetector(OnnxSessionFactory sessions, DetectionOptions options)
    {
        if (!File.Exists(options.ModelPath))
        {
            throw new FileNotFoundException($"Face detector model '{options.ModelPath}' is missing (it ships in models/ beside the app).", options.ModelPath);
        }
        _session = sessions.Create(File.ReadAllBytes(options.ModelPath), "face detector");
        try
        {
            var input = _session.InputMetadata.Single();
            if (input.Value.Dimensions is not [_, 3, _, _])
            {
                throw new InvalidDataException($"Face detector input must be [N,3,H,W] (BGR planes); found [{string.Join(',', input.Value.Dimensions)}].");
            }
            _inputName = input.Key;
            _outputNames = new string[Strides.Length * 4];
            for (var s = 0; s < Strides.Length; s++)
            {
                var i = 0;
                foreach (var head in new[] { "cls", "obj", "bbox", "kps" })
                {
                    var name = $"{head}_{Strides[s]}";
                    _outputNames[s * 4 + i++] = _session.OutputMetadata.ContainsKey(name) ? name
                        : throw new InvalidDataException($"Face detector has no output '{name}'; is this a YuNet model?");
                }
            }
        }
        catch
        {
            _session.Dispose();
            _runOptions.Dispose();
            throw;
        }
        MaxInputSide = options.MaxInputSide;
    }

    public int MaxInputSide { get; }

    public IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request) => Detect(image, request, out _);

    public IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request, out int runs)
    {
        var (scale, columns, rows) = InputShape(image.Width, image.Height, MaxInputSide);
        var lookCloser = CloserLookScore < request.MinScore;
        var candidates = new List<FaceCandidate>();
        Run(image, 0, 0, scale, columns, rows, lookCloser ? CloserLookScore : request.MinScore, candidates);
        runs = 1;
        if (lookCloser)
        {
            runs += LookCloser(image, scale, request.MinScore, candidates);
        }

        var kept = YuNetDecoder.Suppress(candidates, IouThreshold, NestedOverlap);
        var faces = new List<DetectedFace>(Math.Min(kept.Count, request.MaxFaces));
        foreach (var candidate in kept)
        {
            var face = YuNetDecoder.ToFace(candidate, BoxScale, BoxShift);
            if (face.Box.Width >= request.MinFaceSize)
            {
                faces.Add(face);
                if (faces.Count == request.MaxFaces)
                {
                    break;
                }
            }
        }
        return faces;
    }

    /// <summary>
    /// Replaces the weak candidates (below <paramref name="minScore"/>) with what a run at a higher resolution finds
    /// around the strongest of them that no found face explains: a region <see cref="CloserLookSpan"/> times the
    /// candidate's side, its face seen at about <see cref="CloserLookFaceSide"/> pixels. Returns the runs made.
    /// </summary>
    private int LookCloser(RgbaImage image, float scale, float minScore, List<FaceCandidate> candidates)
    {
        var weak = new List<FaceCandidate>();
        var strong = new List<FaceCandidate>();
        foreach (var candidate in candidates)
        {
            (candidate.Score >= minScore ? strong : weak).Add(candidate);
        }
        candidates.Clear();
        candidates.AddRange(strong);
        var looks = 0;
        foreach (var candidate in YuNetDecoder.Suppress(weak, IouThreshold, NestedOverlap))
        {
            if (looks == MaxCloserLooks)
            {
                break;
            }
            if (Explained(candidate.Box, strong))
            {
                continue;
            }
            var faceSide = Math.Max(candidate.Box.Width, candidate.Box.Height);
            var side = CloserLookSpan * faceSide;
            var lookScale = Math.Min(CloserLookMaxScale, CloserLookFaceSide / faceSide);
            if (!(lookScale >= scale * CloserLookGain))
            {
                continue;
            }
            var originX = (int)MathF.Round(candidate.Box.CenterX - side / 2);
            var originY = (int)MathF.Round(candidate.Box.CenterY - side / 2);
            var input = RoundUp(Scaled((int)MathF.Ceiling(side), lookScale));
            var first = candidates.Count;
            Run(image, originX, originY, lookScale, input, input, minScore, candidates);
            looks++;
            // A face cut by an edge of the region that lies inside the photo is the whole view's to find.
            var end = originX + input / lookScale;
            var bottom = originY + input / lookScale;
            var margin = side / 32;
            for (var i = candidates.Count - 1; i >= first; i--)
            {
                var box = candidates[i].Box;
                if ((originX > 0 && box.X < originX + margin) || (originY > 0 && box.Y < originY + margin)
                    || (end < image.Width && box.Right > end - margin) || (bottom < image.Height && box.Bottom > bottom - margin))
                {
                    candidates.RemoveAt(i);
                }
            }
        }
        return looks;
    }

    /// <summary>Whether a found face overlaps the weak candidate: its anchors' weaker neighbours need no second look.</summary>
    private static bool Explained(BoxF weak, List<FaceCandidate> strong)
    {
        foreach (var face in strong)
        {
            if (YuNetDecoder.IntersectionOverSmaller(weak, face.Box) > 0.25f)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One model run on the image from the origin on, scaled, adding its candidates in image pixels.</summary>
    private void Run(RgbaImage image, int originX, int originY, float scale, int columns, int rows, float minScore, List<FaceCandidate> candidates)
    {
        var length = 3 * columns * rows;
        var input = ArrayPool<float>.Shared.Rent(length);
        try
        {
            DetectorInput.Preprocess(image, originX, originY, scale, columns, rows, input.AsSpan(0, length));
            using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, length), [1, 3, rows, columns]);
            using var outputs = _session.Run(_runOptions, [_inputName], [inputValue], _outputNames);
            for (var s = 0; s < Strides.Length; s++)
            {
                var stride = Strides[s];
                YuNetDecoder.DecodeStride(outputs[4 * s].GetTensorDataAsSpan<float>(), outputs[4 * s + 1].GetTensorDataAsSpan<float>(),
                    outputs[4 * s + 2].GetTensorDataAsSpan<float>(), outputs[4 * s + 3].GetTensorDataAsSpan<float>(),
                    columns / stride, rows / stride, stride, scale, minScore, candidates, originX, originY);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }
    }

    /// <summary>
    /// The scale from image to input (never above 1: enlarging shows the detector no detail it lacks) and the input's
    /// sides, the scaled image's rounded up to whole multiples of the coarsest stride.
    /// </summary>
    internal static (float Scale, int Columns, int Rows) InputShape(int width, int height, int maxSide)
    {
        var scale = Math.Min(1f, (float)maxSide / Math.Max(width, height));
        return (scale, RoundUp(Scaled(width, scale)), RoundUp(Scaled(height, scale)));
    }

    /// <summary>A side scaled and rounded up, less float error: 20000 × 0.032 is 640, not 641.</summary>
    private static int Scaled(int side, float scale) => Math.Max(1, (int)MathF.Ceiling(side * scale - 1e-3f));

    private static int RoundUp(int value) => (value + Alignment - 1) / Alignment * Alignment;

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
