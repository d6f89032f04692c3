using System.Buffers;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace FerService.Inference.Detection;

/// <summary>
/// MediaPipe BlazeFace (256×256 back-camera or 128×128 front-camera model) through ONNX Runtime:
/// letterbox into the NHWC input scaled to [-1,1], one run, two anchor grids, weighted NMS, back to image pixels.
/// </summary>
internal sealed class BlazeFaceDetector : IFaceDetector, IDisposable
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
    private readonly float _closerLookScoreMargin;
    private readonly bool _freeSize;
    private readonly float _wholeViewDownscale;
    private readonly int _maxWholeViewSide;
    private readonly string[] _outputNames;
    private readonly RunOptions _runOptions = new();

    public BlazeFaceDetector(OnnxSessionFactory sessions, DetectionOptions options)
    {
        if (!File.Exists(options.ModelPath))
        {
            throw new FileNotFoundException(
                $"Face detector model '{options.ModelPath}' is missing. Run 'scripts/fetch-models.sh' (the build does it) to fetch the pinned BlazeFace package.", options.ModelPath);
        }
        var model = File.ReadAllBytes(options.ModelPath);
        var nominalSize = 0;
        Dictionary<string, int[]>? nominalOutputShapes = null;
        if (options.WholeViewDownscale > 0)
        {
            model = BlazeFaceGraph.WithFreeInputSize(model, out nominalSize, out nominalOutputShapes);
        }
        _session = sessions.Create(model, "face detector");
        _iouThreshold = options.IouThreshold;
        _boxScale = options.BoxScale;
        _boxShift = options.BoxShift;
        _tiling = options.Tiling;
        _tileProposalScore = options.TileProposalScore;
        _proposalCropScale = options.ProposalCropScale;
        _maxProposalCrops = options.MaxProposalCrops;
        _closerLookScoreMargin = options.CloserLookScoreMargin;
        _wholeViewDownscale = options.WholeViewDownscale;
        _maxWholeViewSide = options.MaxWholeViewSide;
        var input = _session.InputMetadata.Single();
        _inputName = input.Key;
        var dims = input.Value.Dimensions;
        if (dims.Length != 4 || dims[1] != dims[2] || dims[3] != 3 || (dims[1] <= 0 && nominalSize == 0))
        {
            throw new InvalidDataException($"Face detector input must be [1,S,S,3] NHWC; found [{string.Join(',', dims)}].");
        }
        _freeSize = nominalSize > 0;
        InputSize = _freeSize ? nominalSize : dims[1];
        _grids = MatchOutputs(nominalOutputShapes ?? _session.OutputMetadata.ToDictionary(o => o.Key, o => o.Value.Dimensions));
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
                WholeViewDownscale = 0,
            });
        }
    }

    public int InputSize { get; }

    public IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request) => Detect(image, request, out _);

    public IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request, out int runs)
    {
        var candidates = new List<BlazeFaceDecoder.Candidate>();
        var (whole, columns, rows) = WholeView(image.Width, image.Height);
        var inputLength = Math.Max(InputSize * InputSize, columns * rows) * 3;
        var input = ArrayPool<float>.Shared.Rent(inputLength);
        var views = 1;
        try
        {
            IReadOnlyList<(int X, int Y, int Side)> tiles = _tiling ? BlazeFaceDecoder.Tiles(image.Width, image.Height, InputSize) : [];
            // Proposals lie below the request's threshold (half of it at most, so a low minScore still leaves a band of them).
            var everyTile = _tileProposalScore <= 0;
            var proposalScore = tiles.Count > 0 && !everyTile ? Math.Min(_tileProposalScore, request.MinScore / 2) : request.MinScore;
            var proposals = new List<BlazeFaceDecoder.Candidate>();
            DetectView(image, whole, columns, rows, input.AsMemory(0, columns * rows * 3), request.MinScore,
                candidates, proposalScore, proposals);
            if (_proposalDetector is not null && tiles.Count > 0 && !everyTile)
            {
                views += LookAtProposals(image, Math.Min(0.99f, request.MinScore + _closerLookScoreMargin), candidates, proposals);
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
                DetectView(image, Letterbox.Tile(x, y, side, InputSize), InputSize, InputSize, input.AsMemory(0, InputSize * InputSize * 3),
                    request.MinScore, candidates, request.MinScore, proposals);
                // A face cut by an inner tile edge is seen whole by a neighbour or the full view.
                RemoveCutByInnerEdge(candidates, first, x, y, side, image.Width, image.Height);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(input);
        }
        runs = views;

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
                detector.DetectView(image, Letterbox.Tile(x, y, side, detector.InputSize), detector.InputSize, detector.InputSize,
                    input.AsMemory(0, inputLength), minScore, candidates, minScore, proposals);
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
    private void DetectView(RgbaImage image, Letterbox view, int columns, int rows, Memory<float> input, float minScore,
        List<BlazeFaceDecoder.Candidate> output, float proposalScore, List<BlazeFaceDecoder.Candidate> proposals)
    {
        DetectorInput.Preprocess(image, view, columns, rows, input.Span);
        using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input, [1, rows, columns, 3]);
        using var outputs = _session.Run(_runOptions, [_inputName], [inputValue], _outputNames);
        var first = output.Count;
        for (var g = 0; g < _grids.Length; g++)
        {
            var stride = InputSize / _grids[g].Grid;
            BlazeFaceDecoder.DecodeGrid(outputs[2 * g].GetTensorDataAsSpan<float>(), outputs[2 * g + 1].GetTensorDataAsSpan<float>(),
                columns / stride, rows / stride, _grids[g].AnchorsPerCell, view.InputSize, (float)columns / view.InputSize,
                (float)rows / view.InputSize, proposalScore, output);
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

    /// <summary>The image letterboxed into this model's input; see <see cref="DetectorInput.Preprocess"/>.</summary>
    internal void Preprocess(RgbaImage image, Letterbox letterbox, Span<float> destination) =>
        DetectorInput.Preprocess(image, letterbox, InputSize, destination);

    /// <summary>
    /// The whole-image view: the fixed square letterbox, or for a free-size model the image shrunk by the whole-view
    /// downscale at the top-left of a tensor cut to it; sides are whole cells of the coarse grid, the long one between
    /// the nominal input and the cap.
    /// </summary>
    private (Letterbox View, int Columns, int Rows) WholeView(int width, int height)
    {
        if (!_freeSize)
        {
            return (Letterbox.Fit(width, height, InputSize), InputSize, InputSize);
        }
        return Letterbox.Shrink(width, height, InputSize, InputSize / Math.Min(_grids[0].Grid, _grids[1].Grid), _wholeViewDownscale,
            _maxWholeViewSide);
    }

    /// <summary>
    /// Pairs score outputs [1,N,1] with regressor outputs [1,N,16] by their shapes at the nominal input: N = 512 is the
    /// 16×16×2 grid, N = 384 the 8×8×6 grid.
    /// </summary>
    private static (string, string, int, int)[] MatchOutputs(IReadOnlyDictionary<string, int[]> outputs)
    {
        var grids = new List<(string, string, int, int)>();
        foreach (var (anchors, grid, perCell) in new[] { (512, 16, 2), (384, 8, 6) })
        {
            var scores = outputs.FirstOrDefault(o => o.Value is [_, var n, 1] && n == anchors).Key;
            var boxes = outputs.FirstOrDefault(o => o.Value is [_, var n, BlazeFaceDecoder.RegressorsPerAnchor] && n == anchors).Key;
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
