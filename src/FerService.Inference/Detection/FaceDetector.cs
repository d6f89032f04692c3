using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace FerService.Inference.Detection;

/// <summary>Section <c>Fer:Detection</c>.</summary>
public sealed class DetectionOptions
{
    public const string Section = "Fer:Detection";

    /// <summary>BlazeFace ONNX file (fetched at build time, checked by sha256).</summary>
    [Required]
    public string ModelPath { get; set; } = "models/face_detection_back_256x256_barracuda.onnx";

    /// <summary>Default detector threshold; a request's <c>minScore</c> overrides it.</summary>
    [Range(0.01, 0.99)]
    public float MinScore { get; set; } = 0.6f;

    [Range(0.05, 0.95)]
    public float IouThreshold { get; set; } = 0.3f;

    /// <summary>
    /// Reported box = BlazeFace box scaled about its centre. BlazeFace boxes run from the brows to the chin; scaled,
    /// they frame the whole face as face datasets (FER2013 among them) crop it. Calibrated on FER2013 Training faces.
    /// </summary>
    [Range(0.5, 3.0)]
    public float BoxScale { get; set; } = 1.17f;

    /// <summary>Vertical shift of the reported box centre, as a fraction of its side (negative is up: BlazeFace centres on the nose).</summary>
    [Range(-0.5, 0.5)]
    public float BoxShift { get; set; } = -0.085f;

    /// <summary>
    /// Take a second, closer look at large images (long side ≥ 1.5 × the detector input), so small faces are found: crops
    /// around the whole view's weak candidates through <see cref="ProposalModelPath"/>, or, without that model, the
    /// overlapping half-size tiles through the main model (up to 6 extra runs).
    /// </summary>
    public bool Tiling { get; set; } = true;

    /// <summary>
    /// A region is looked at only when the whole-image view has a weak candidate (score at least this, below the
    /// detection threshold) in it: a face too small for the whole view still raises its anchors a little,
    /// so regions without any are skipped. A request's <c>minScore</c> below twice this lowers it to half that minScore.
    /// 0 looks at every half-size tile through the main model, proposal model or not.
    /// </summary>
    [Range(0.0, 0.99)]
    public float TileProposalScore { get; set; } = 0.07f;

    /// <summary>
    /// Short-range BlazeFace (128×128) for the closer look: one run on a crop around each weak candidate, a quarter of
    /// the pixels of a 256×256 tile run. Empty: half-size tiles through the main model instead.
    /// </summary>
    public string? ProposalModelPath { get; set; } = "models/face_detection_front_128x128_barracuda.onnx";

    /// <summary>Side of a proposal crop as a multiple of the weak candidate's box (the short-range model sees faces of ~15–75 % of its input).</summary>
    [Range(1.5, 8.0)]
    public float ProposalCropScale { get; set; } = 3f;

    /// <summary>Most proposal crops per image, strongest candidates first.</summary>
    [Range(1, 32)]
    public int MaxProposalCrops { get; set; } = 8;
}

/// <summary>Per-request detection settings, validated at the HTTP boundary.</summary>
public sealed record DetectionRequest(float MinScore, int MaxFaces, float MinFaceSize);

public interface IFaceDetector
{
    int InputSize { get; }
    IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request);
}

/// <summary>
/// MediaPipe BlazeFace (256×256 back-camera or 128×128 front-camera model) through ONNX Runtime:
/// letterbox into the NHWC input scaled to [-1,1], one run, two anchor grids, weighted NMS, back to image pixels.
/// </summary>
public sealed class BlazeFaceDetector : IFaceDetector, IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;
    private readonly (string Scores, string Boxes, int Grid, int AnchorsPerCell)[] _grids;
    private readonly float _iouThreshold;
    private readonly float _boxScale;
    private readonly float _boxShift;
    private readonly bool _tiling;
    private readonly float _tileProposalScore;
    private readonly BlazeFaceDetector? _proposalDetector;
    private readonly float _proposalCropScale;
    private readonly int _maxProposalCrops;
    private readonly string[] _outputNames;
    private readonly RunOptions _runOptions = new();

    public BlazeFaceDetector(OnnxSessionFactory sessions, DetectionOptions options)
    {
        if (!File.Exists(options.ModelPath))
        {
            throw new FileNotFoundException(
                $"Face detector model '{options.ModelPath}' is missing. Run 'scripts/fetch-models.sh' (the build does it) to fetch the pinned BlazeFace package.", options.ModelPath);
        }
        _session = sessions.Create(File.ReadAllBytes(options.ModelPath), "face detector");
        _iouThreshold = options.IouThreshold;
        _boxScale = options.BoxScale;
        _boxShift = options.BoxShift;
        _tiling = options.Tiling;
        _tileProposalScore = options.TileProposalScore;
        _proposalCropScale = options.ProposalCropScale;
        _maxProposalCrops = options.MaxProposalCrops;
        var input = _session.InputMetadata.Single();
        _inputName = input.Key;
        var dims = input.Value.Dimensions;
        if (dims.Length != 4 || dims[1] != dims[2] || dims[3] != 3)
        {
            throw new InvalidDataException($"Face detector input must be [1,S,S,3] NHWC; found [{string.Join(',', dims)}].");
        }
        InputSize = dims[1];
        _grids = MatchOutputs(_session.OutputMetadata);
        _outputNames = new string[_grids.Length * 2];
        for (var g = 0; g < _grids.Length; g++)
        {
            _outputNames[2 * g] = _grids[g].Scores;
            _outputNames[2 * g + 1] = _grids[g].Boxes;
        }
        if (_tiling && !string.IsNullOrEmpty(options.ProposalModelPath))
        {
            _proposalDetector = new BlazeFaceDetector(sessions, new DetectionOptions
            {
                ModelPath = options.ProposalModelPath,
                Tiling = false,
                ProposalModelPath = null,
                IouThreshold = options.IouThreshold,
            });
        }
    }

    public int InputSize { get; }

    public IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request)
    {
        var candidates = new List<BlazeFaceDecoder.Candidate>();
        var inputLength = InputSize * InputSize * 3;
        var input = ArrayPool<float>.Shared.Rent(inputLength);
        try
        {
            IReadOnlyList<(int X, int Y, int Side)> tiles = _tiling ? BlazeFaceDecoder.Tiles(image.Width, image.Height, InputSize) : [];
            // Proposals lie below the request's threshold (half of it at most, so a low minScore still leaves a band of them).
            var everyTile = _tileProposalScore <= 0;
            var proposalScore = tiles.Count > 0 && !everyTile ? Math.Min(_tileProposalScore, request.MinScore / 2) : request.MinScore;
            var proposals = new List<BlazeFaceDecoder.Candidate>();
            DetectView(image, Letterbox.Fit(image.Width, image.Height, InputSize), input.AsMemory(0, inputLength), request.MinScore,
                candidates, proposalScore, proposals);
            var views = 1;
            if (_proposalDetector is not null && tiles.Count > 0 && !everyTile)
            {
                views += LookAtProposals(image, request.MinScore, candidates, proposals);
                tiles = [];
            }
            foreach (var (x, y, side) in tiles)
            {
                if (!everyTile && !BlazeFaceDecoder.AnyProposalInTile(proposals, candidates, x, y, side))
                {
                    continue;
                }
                views++;
                var first = candidates.Count;
                DetectView(image, Letterbox.Tile(x, y, side, InputSize), input.AsMemory(0, inputLength), request.MinScore, candidates,
                    request.MinScore, proposals);
                // A face cut by an inner tile edge is seen whole by a neighbour or the full view.
                RemoveCutByInnerEdge(candidates, first, x, y, side, image.Width, image.Height);
            }
            InferenceMetrics.DetectorViews.Record(views);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }

        var merged = BlazeFaceDecoder.WeightedNonMaxSuppression(candidates, _iouThreshold, int.MaxValue);
        var faces = new List<DetectedFace>(Math.Min(merged.Count, request.MaxFaces));
        foreach (var candidate in merged)
        {
            var face = BlazeFaceDecoder.ToFace(candidate, _boxScale, _boxShift);
            if (Math.Max(face.Box.Width, face.Box.Height) >= request.MinFaceSize)
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
    /// The closer look through the short-range detector: one run per crop around the weak candidates no found face
    /// explains; what scores at least <paramref name="minScore"/> joins <paramref name="candidates"/>. Returns the runs made.
    /// </summary>
    private int LookAtProposals(RgbaImage image, float minScore, List<BlazeFaceDecoder.Candidate> candidates,
        List<BlazeFaceDecoder.Candidate> proposals)
    {
        var detector = _proposalDetector!;
        var crops = BlazeFaceDecoder.ProposalCrops(proposals, candidates, _proposalCropScale, detector.InputSize, _maxProposalCrops);
        if (crops.Count == 0)
        {
            return 0;
        }
        var inputLength = detector.InputSize * detector.InputSize * 3;
        var input = ArrayPool<float>.Shared.Rent(inputLength);
        try
        {
            foreach (var (x, y, side) in crops)
            {
                var first = candidates.Count;
                // Nothing scores below minScore here, so nothing is added to the proposals being iterated.
                detector.DetectView(image, Letterbox.Tile(x, y, side, detector.InputSize), input.AsMemory(0, inputLength), minScore,
                    candidates, minScore, proposals);
                // A face larger than its crop is the whole view's to find.
                RemoveCutByInnerEdge(candidates, first, x, y, side, image.Width, image.Height);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }
        return crops.Count;
    }

    /// <summary>
    /// Runs the detector on one view of the image and adds its candidates in image pixels: those scoring at least
    /// <paramref name="minScore"/> to <paramref name="output"/>, weaker ones down to <paramref name="proposalScore"/> to
    /// <paramref name="proposals"/>.
    /// </summary>
    private void DetectView(RgbaImage image, Letterbox view, Memory<float> input, float minScore, List<BlazeFaceDecoder.Candidate> output,
        float proposalScore, List<BlazeFaceDecoder.Candidate> proposals)
    {
        Preprocess(image, view, input.Span);
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input, [1, InputSize, InputSize, 3]);
        using var outputs = _session.Run(_runOptions, [_inputName], [inputValue], _outputNames);
        var first = output.Count;
        for (var g = 0; g < _grids.Length; g++)
        {
            BlazeFaceDecoder.DecodeGrid(outputs[2 * g].GetTensorDataAsSpan<float>(), outputs[2 * g + 1].GetTensorDataAsSpan<float>(),
                _grids[g].Grid, _grids[g].AnchorsPerCell, InputSize, proposalScore, output);
        }
        var kept = first;
        for (var i = first; i < output.Count; i++)
        {
            var candidate = BlazeFaceDecoder.ToImageSpace(output[i], view);
            if (candidate.Score >= minScore)
            {
                output[kept++] = candidate;
            }
            else
            {
                proposals.Add(candidate);
            }
        }
        output.RemoveRange(kept, output.Count - kept);
    }

    /// <summary>One detector run on a prepared input with the raw outputs copied out (scores, boxes per grid): lets benchmarks time decoding alone.</summary>
    internal (float[][] Outputs, (int Grid, int PerCell)[] Grids) RunRaw(float[] input)
    {
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(), [1, InputSize, InputSize, 3]);
        using var outputs = _session.Run(_runOptions, [_inputName], [inputValue], _outputNames);
        var copies = new float[outputs.Count][];
        for (var i = 0; i < copies.Length; i++)
        {
            copies[i] = outputs[i].GetTensorDataAsSpan<float>().ToArray();
        }
        var grids = new (int, int)[_grids.Length];
        for (var g = 0; g < grids.Length; g++)
        {
            grids[g] = (_grids[g].Grid, _grids[g].AnchorsPerCell);
        }
        return (copies, grids);
    }

    private static void RemoveCutByInnerEdge(List<BlazeFaceDecoder.Candidate> candidates, int first, int x, int y, int side, int width, int height)
    {
        for (var i = candidates.Count - 1; i >= first; i--)
        {
            if (CutByInnerEdge(candidates[i], x, y, side, width, height))
            {
                candidates.RemoveAt(i);
            }
        }
    }

    private static bool CutByInnerEdge(in BlazeFaceDecoder.Candidate c, int x, int y, int side, int width, int height)
    {
        var margin = side / 64f;
        return (x > 0 && c.CenterX - c.Width / 2 < x + margin)
            || (y > 0 && c.CenterY - c.Height / 2 < y + margin)
            || (x + side < width && c.CenterX + c.Width / 2 > x + side - margin)
            || (y + side < height && c.CenterY + c.Height / 2 > y + side - margin);
    }

    /// <summary>
    /// Letterboxes the image into the square NHWC input, RGB scaled to [-1,1]. Shrinking below half size first averages
    /// f×f boxes (what one mipmap level is, so nothing aliases), then samples bilinearly. Measured on 640×480: 1.5 ms for the
    /// whole-image view and 0.41 ms for a tile, where a Skia draw took 6–7 ms (it rebuilt the mipmap pyramid every time).
    /// </summary>
    internal void Preprocess(RgbaImage image, Letterbox letterbox, Span<float> destination) =>
        Preprocess(image, letterbox, InputSize, destination);

    internal static void Preprocess(RgbaImage image, Letterbox letterbox, int inputSize, Span<float> destination)
    {
        var factor = (int)(1 / letterbox.Scale);
        if (factor < 2)
        {
            SampleBilinear(image.Pixels, image.Width, image.Height, letterbox, inputSize, destination);
            return;
        }
        // Only the part of the image the view shows is shrunk: a proposal crop is a small part of a large image.
        var (x0, y0, regionWidth, regionHeight) = ShrinkRegion(letterbox, factor, image.Width, image.Height);
        var width = (regionWidth + factor - 1) / factor;
        var height = (regionHeight + factor - 1) / factor;
        // A pooled buffer, not an RgbaImage: its memory-pressure accounting would induce a gen-2 collection every few calls.
        var shrunk = ArrayPool<byte>.Shared.Rent(width * height * 4);
        try
        {
            BoxShrink(image.Pixels[(y0 * image.RowBytes + x0 * 4)..], regionWidth, regionHeight, image.RowBytes, factor,
                shrunk.AsSpan(0, width * height * 4));
            var view = new Letterbox(letterbox.Scale * factor, letterbox.OffsetX + x0 * letterbox.Scale,
                letterbox.OffsetY + y0 * letterbox.Scale, letterbox.InputSize);
            SampleBilinear(shrunk.AsSpan(0, width * height * 4), width, height, view, inputSize, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(shrunk);
        }
    }

    /// <summary>
    /// The part of the image a view needs shrunk by <paramref name="factor"/>: what it shows, widened to the factor grid
    /// plus one box on each side, so every bilinear tap and the black outside the image come out as from a whole-image shrink.
    /// </summary>
    internal static (int X, int Y, int Width, int Height) ShrinkRegion(Letterbox view, int factor, int width, int height)
    {
        var (x0, x1) = ShrinkSpan(-view.OffsetX / view.Scale, (view.InputSize - view.OffsetX) / view.Scale, factor, width);
        var (y0, y1) = ShrinkSpan(-view.OffsetY / view.Scale, (view.InputSize - view.OffsetY) / view.Scale, factor, height);
        return x1 > x0 && y1 > y0 ? (x0, y0, x1 - x0, y1 - y0) : (0, 0, width, height);
    }

    private static (int Start, int End) ShrinkSpan(float first, float last, int factor, int length) =>
        (Math.Max(0, ((int)MathF.Floor(first / factor) - 1) * factor),
         (int)Math.Min(length, ((long)MathF.Ceiling(last / factor) + 1) * factor));

    /// <summary>Averages factor×factor boxes of RGBA into target (⌈w/f⌉×⌈h/f⌉ pixels); the partial boxes at the right and bottom edges average what they hold.</summary>
    internal static void BoxShrink(RgbaImage image, int factor, Span<byte> target) =>
        BoxShrink(image.Pixels, image.Width, image.Height, image.RowBytes, factor, target);

    /// <summary><see cref="BoxShrink(RgbaImage, int, Span{byte})"/> of a width×height region whose first pixel starts <paramref name="source"/>.</summary>
    internal static void BoxShrink(ReadOnlySpan<byte> source, int width, int height, int rowBytes, int factor, Span<byte> target)
    {
        if (factor == 2)
        {
            HalveBoxes(source, width, height, rowBytes, target);
        }
        else
        {
            AverageBoxes(source, width, height, rowBytes, factor, target);
        }
    }

    /// <summary>
    /// <see cref="BoxShrink(RgbaImage, int, Span{byte})"/> for factor 2 (every 640×480 whole view), with the same rounding: two rows summed straight
    /// into bytes, no per-byte branch. A lone bottom row counts twice and a lone right column once, the same means.
    /// </summary>
    private static void HalveBoxes(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int rowBytes, Span<byte> target)
    {
        var width = (sourceWidth + 1) / 2;
        var height = (sourceHeight + 1) / 2;
        var pairs = sourceWidth / 2;
        // Pixels 0 1 2 3 reordered 0 2 1 3, so widening the low and the high half gives the left and the right pixel of two pairs.
        var pairUp = Vector128.Create((byte)0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
        var half = Vector128.Create((ushort)2);
        for (var y = 0; y < height; y++)
        {
            var top = source.Slice(2 * y * rowBytes, sourceWidth * 4);
            var bottom = 2 * y + 1 < sourceHeight ? source.Slice((2 * y + 1) * rowBytes, sourceWidth * 4) : top;
            var output = target.Slice(y * width * 4, width * 4);
            var x = 0;
            if (Vector128.IsHardwareAccelerated)
            {
                // Four output pixels from eight source pixels of each row: the same sums and rounding as below, 16 lanes at once.
                for (; x + 4 <= pairs; x += 4)
                {
                    var a = 8 * x;
                    var left = SumPairs(Vector128.Shuffle(Vector128.Create(top.Slice(a, 16)), pairUp), Vector128.Shuffle(Vector128.Create(bottom.Slice(a, 16)), pairUp));
                    var right = SumPairs(Vector128.Shuffle(Vector128.Create(top.Slice(a + 16, 16)), pairUp), Vector128.Shuffle(Vector128.Create(bottom.Slice(a + 16, 16)), pairUp));
                    Vector128.Narrow(Vector128.ShiftRightLogical(left + half, 2), Vector128.ShiftRightLogical(right + half, 2)).CopyTo(output.Slice(4 * x, 16));
                }
            }
            for (; x < pairs; x++)
            {
                int a = 8 * x, o = 4 * x;
                output[o] = (byte)((top[a] + top[a + 4] + bottom[a] + bottom[a + 4] + 2) >> 2);
                output[o + 1] = (byte)((top[a + 1] + top[a + 5] + bottom[a + 1] + bottom[a + 5] + 2) >> 2);
                output[o + 2] = (byte)((top[a + 2] + top[a + 6] + bottom[a + 2] + bottom[a + 6] + 2) >> 2);
                output[o + 3] = (byte)((top[a + 3] + top[a + 7] + bottom[a + 3] + bottom[a + 7] + 2) >> 2);
            }
            if (width > pairs)
            {
                int a = 8 * pairs, o = 4 * pairs;
                for (var c = 0; c < 4; c++)
                {
                    output[o + c] = (byte)((top[a + c] + bottom[a + c] + 1) >> 1);
                }
            }
        }
    }

    /// <summary>Channel sums of two pixel pairs (reordered as in <see cref="HalveBoxes"/>) over two rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ushort> SumPairs(Vector128<byte> top, Vector128<byte> bottom) =>
        Vector128.WidenLower(top) + Vector128.WidenUpper(top) + Vector128.WidenLower(bottom) + Vector128.WidenUpper(bottom);

    internal static void AverageBoxes(RgbaImage image, int factor, Span<byte> target) =>
        AverageBoxes(image.Pixels, image.Width, image.Height, image.RowBytes, factor, target);

    private static void AverageBoxes(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int rowBytes, int factor, Span<byte> target)
    {
        var width = (sourceWidth + factor - 1) / factor;
        var height = (sourceHeight + factor - 1) / factor;
        var outputRowBytes = width * 4;
        var sums = ArrayPool<int>.Shared.Rent(width * 4);
        try
        {
            for (var y = 0; y < height; y++)
            {
                Array.Clear(sums, 0, width * 4);
                var firstRow = y * factor;
                var endRow = Math.Min(firstRow + factor, sourceHeight);
                for (var sourceY = firstRow; sourceY < endRow; sourceY++)
                {
                    var row = source.Slice(sourceY * rowBytes, sourceWidth * 4);
                    for (int x = 0, box = 0, left = factor; x < row.Length; x += 4)
                    {
                        sums[box] += row[x];
                        sums[box + 1] += row[x + 1];
                        sums[box + 2] += row[x + 2];
                        sums[box + 3] += row[x + 3];
                        if (--left == 0)
                        {
                            box += 4;
                            left = factor;
                        }
                    }
                }
                var output = target.Slice(y * outputRowBytes, outputRowBytes);
                var rows = endRow - firstRow;
                for (var x = 0; x < width; x++)
                {
                    var count = rows * Math.Min(factor, sourceWidth - x * factor);
                    for (var c = 0; c < 4; c++)
                    {
                        output[x * 4 + c] = (byte)((sums[x * 4 + c] + count / 2) / count);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(sums);
        }
    }

    /// <summary>
    /// Bilinear sampling onto a black square, as a canvas draw would give: output pixel centres map through the letterbox
    /// to source pixels (edges clamped), pixels outside the image are black, alpha is composited onto black; RGB to [-1,1].
    /// The four channels of a tap go through the arithmetic as one vector, in the order a per-channel loop would use, so
    /// the floats are the same to the bit; the taps are clamped onto the image, which is checked once, not per read.
    /// </summary>
    internal static void SampleBilinear(ReadOnlySpan<byte> pixels, int width, int height, Letterbox view, int size, Span<float> destination)
    {
        var stride = width * 4;
        ArgumentOutOfRangeException.ThrowIfLessThan(pixels.Length, stride * height, nameof(pixels));
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, size * size * 3, nameof(destination));
        Span<int> x0 = stackalloc int[size];
        Span<int> x1 = stackalloc int[size];
        Span<float> fx = stackalloc float[size];
        Span<bool> inside = stackalloc bool[size];
        Taps(view.OffsetX, view.Scale, width, x0, x1, fx, inside);
        Span<int> y0 = stackalloc int[size];
        Span<int> y1 = stackalloc int[size];
        Span<float> fy = stackalloc float[size];
        Span<bool> rowInside = stackalloc bool[size];
        Taps(view.OffsetY, view.Scale, height, y0, y1, fy, rowInside);
        const float ToUnit = 1f / (127.5f * 255f);
        ref var image = ref MemoryMarshal.GetReference(pixels);
        for (var v = 0; v < size; v++)
        {
            var output = destination.Slice(v * size * 3, size * 3);
            if (!rowInside[v])
            {
                output.Fill(-1f);
                continue;
            }
            ref var top = ref Unsafe.Add(ref image, y0[v] * stride);
            ref var bottom = ref Unsafe.Add(ref image, y1[v] * stride);
            var wy = fy[v];
            for (var u = 0; u < size; u++)
            {
                var o = u * 3;
                if (!inside[u])
                {
                    output[o] = output[o + 1] = output[o + 2] = -1f;
                    continue;
                }
                int a = x0[u] * 4, b = x1[u] * 4;
                var wx = fx[u];
                // Alpha-weighted taps: a transparent pixel adds black, as when drawn over the black background.
                float w00 = (1 - wx) * (1 - wy) * Unsafe.Add(ref top, a + 3), w01 = wx * (1 - wy) * Unsafe.Add(ref top, b + 3);
                float w10 = (1 - wx) * wy * Unsafe.Add(ref bottom, a + 3), w11 = wx * wy * Unsafe.Add(ref bottom, b + 3);
                var value = w00 * Rgba(ref top, a) + w01 * Rgba(ref top, b) + w10 * Rgba(ref bottom, a) + w11 * Rgba(ref bottom, b);
                var scaled = value * ToUnit - Vector128<float>.One;
                if (u + 1 < size)
                {
                    // Four floats out; the fourth (alpha's) is overwritten by the next pixel's red.
                    scaled.StoreUnsafe(ref output[o]);
                }
                else
                {
                    output[o] = scaled.GetElement(0);
                    output[o + 1] = scaled.GetElement(1);
                    output[o + 2] = scaled.GetElement(2);
                }
            }
        }
    }

    /// <summary>The RGBA bytes at <paramref name="offset"/> as four floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Rgba(ref byte row, int offset) =>
        Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(
            Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref row, offset))).AsByte())).AsInt32());

    /// <summary>Per output column (or row): the two source taps, the weight of the second, and whether it lies on the image.</summary>
    private static void Taps(float offset, float scale, int length, Span<int> first, Span<int> second, Span<float> weight, Span<bool> inside)
    {
        var end = offset + length * scale;
        for (var i = 0; i < first.Length; i++)
        {
            var centre = i + 0.5f;
            inside[i] = centre >= offset && centre < end;
            var source = Math.Clamp((centre - offset) / scale - 0.5f, 0f, length - 1);
            var floor = (int)source;
            first[i] = floor;
            second[i] = Math.Min(floor + 1, length - 1);
            weight[i] = source - floor;
        }
    }

    /// <summary>Pairs score outputs [1,N,1] with regressor outputs [1,N,16]: N = 512 is the 16×16×2 grid, N = 384 the 8×8×6 grid.</summary>
    private static (string, string, int, int)[] MatchOutputs(IReadOnlyDictionary<string, NodeMetadata> outputs)
    {
        var grids = new List<(string, string, int, int)>();
        foreach (var (anchors, grid, perCell) in new[] { (512, 16, 2), (384, 8, 6) })
        {
            var scores = outputs.FirstOrDefault(o => o.Value.Dimensions is [_, var n, 1] && n == anchors).Key;
            var boxes = outputs.FirstOrDefault(o => o.Value.Dimensions is [_, var n, BlazeFaceDecoder.RegressorsPerAnchor] && n == anchors).Key;
            if (scores is null || boxes is null)
            {
                throw new InvalidDataException($"Face detector has no score/box output pair for {anchors} anchors; is this a BlazeFace model?");
            }
            grids.Add((scores, boxes, grid, perCell));
        }
        return [.. grids];
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
        _proposalDetector?.Dispose();
    }
}
