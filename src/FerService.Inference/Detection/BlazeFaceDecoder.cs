namespace FerService.Inference.Detection;

/// <summary>
/// Pure BlazeFace post-processing: anchors, regressor decoding, weighted non-maximum suppression and the
/// letterbox mapping back to image pixels. Coordinates inside are normalised to the square model input.
/// </summary>
internal static class BlazeFaceDecoder
{
    public const int KeypointCount = 6;
    public const int RegressorsPerAnchor = 4 + 2 * KeypointCount;

    /// <summary>A candidate in normalised model-input coordinates: box then 6 keypoints (x, y).</summary>
    internal struct Candidate
    {
        public float Score;
        public float CenterX, CenterY, Width, Height;
        public Keypoints Points;
    }

    [System.Runtime.CompilerServices.InlineArray(2 * KeypointCount)]
    internal struct Keypoints
    {
        private float _element;
    }

    /// <summary>
    /// Decodes one anchor grid: anchor centre ((col + 0.5) / grid, (row + 0.5) / grid), fixed anchor size 1,
    /// regressors in input pixels; index = (row * grid + col) * anchorsPerCell + anchor.
    /// </summary>
    internal static void DecodeGrid(ReadOnlySpan<float> rawScores, ReadOnlySpan<float> regressors, int grid, int anchorsPerCell,
        int inputSize, float minScore, List<Candidate> output) =>
        DecodeGrid(rawScores, regressors, grid, grid, anchorsPerCell, inputSize, 1f, 1f, minScore, output);

    /// <summary>
    /// <see cref="DecodeGrid(ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, float, List{Candidate})"/> for a
    /// rectangular input inside the square frame of <paramref name="inputSize"/>: the grid covers the fractions
    /// <paramref name="spanX"/> × <paramref name="spanY"/> of the frame from its top-left corner.
    /// </summary>
    internal static void DecodeGrid(ReadOnlySpan<float> rawScores, ReadOnlySpan<float> regressors, int gridColumns, int gridRows,
        int anchorsPerCell, int inputSize, float spanX, float spanY, float minScore, List<Candidate> output)
    {
        var expected = gridColumns * gridRows * anchorsPerCell;
        if (rawScores.Length != expected || regressors.Length != expected * RegressorsPerAnchor)
        {
            throw new ArgumentException($"Grid {gridColumns}×{gridRows}×{anchorsPerCell} expects {expected} scores.", nameof(rawScores));
        }
        var scale = 1f / inputSize;
        // Compare logits, not probabilities: one log per grid instead of one exp per anchor.
        var minLogit = Logit(minScore);
        for (var index = 0; index < expected; index++)
        {
            var raw = rawScores[index];
            if (raw < minLogit)
            {
                continue;
            }
            var cell = index / anchorsPerCell;
            var anchorX = (cell % gridColumns + 0.5f) / gridColumns * spanX;
            var anchorY = (cell / gridColumns + 0.5f) / gridRows * spanY;
            var r = regressors.Slice(index * RegressorsPerAnchor, RegressorsPerAnchor);
            var candidate = new Candidate
            {
                Score = Sigmoid(raw),
                CenterX = anchorX + r[0] * scale,
                CenterY = anchorY + r[1] * scale,
                Width = r[2] * scale,
                Height = r[3] * scale,
            };
            for (var k = 0; k < 2 * KeypointCount; k += 2)
            {
                candidate.Points[k] = anchorX + r[4 + k] * scale;
                candidate.Points[k + 1] = anchorY + r[5 + k] * scale;
            }
            if (candidate.Width > 0 && candidate.Height > 0)
            {
                output.Add(candidate);
            }
        }
    }

    /// <summary>
    /// MediaPipe's weighted NMS: the best remaining candidate absorbs every candidate overlapping it by more
    /// than <paramref name="iouThreshold"/>; the result is their score-weighted mean box and keypoints, with the best score.
    /// </summary>
    internal static List<Candidate> WeightedNonMaxSuppression(List<Candidate> candidates, float iouThreshold, int maxResults)
    {
        candidates.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        var used = new bool[candidates.Count];
        var results = new List<Candidate>();
        for (var i = 0; i < candidates.Count && results.Count < maxResults; i++)
        {
            if (used[i])
            {
                continue;
            }
            var best = candidates[i];
            var bestBox = ToBox(best);
            float weight = 0, cx = 0, cy = 0, w = 0, h = 0;
            var points = default(Keypoints);
            for (var j = i; j < candidates.Count; j++)
            {
                if (used[j])
                {
                    continue;
                }
                var other = candidates[j];
                if (j != i && BoxF.IntersectionOverUnion(bestBox, ToBox(other)) <= iouThreshold)
                {
                    continue;
                }
                used[j] = true;
                weight += other.Score;
                cx += other.CenterX * other.Score;
                cy += other.CenterY * other.Score;
                w += other.Width * other.Score;
                h += other.Height * other.Score;
                for (var k = 0; k < 2 * KeypointCount; k++)
                {
                    points[k] += other.Points[k] * other.Score;
                }
            }
            var merged = new Candidate { Score = best.Score, CenterX = cx / weight, CenterY = cy / weight, Width = w / weight, Height = h / weight };
            for (var k = 0; k < 2 * KeypointCount; k++)
            {
                merged.Points[k] = points[k] / weight;
            }
            results.Add(merged);
        }
        return results;
    }

    internal static BoxF ToBox(in Candidate c) => new(c.CenterX - c.Width / 2, c.CenterY - c.Height / 2, c.Width, c.Height);

    /// <summary>Maps a normalised candidate back through the letterbox (or tile) view to image pixels, still as a candidate.</summary>
    internal static Candidate ToImageSpace(in Candidate c, Letterbox view)
    {
        var centre = view.ToImage(c.CenterX, c.CenterY);
        var pixels = view.InputSize / view.Scale;
        var mapped = new Candidate { Score = c.Score, CenterX = centre.X, CenterY = centre.Y, Width = c.Width * pixels, Height = c.Height * pixels };
        for (var k = 0; k < 2 * KeypointCount; k += 2)
        {
            var point = view.ToImage(c.Points[k], c.Points[k + 1]);
            mapped.Points[k] = point.X;
            mapped.Points[k + 1] = point.Y;
        }
        return mapped;
    }

    /// <summary>
    /// An image-space candidate as a face: the box is scaled about its centre by <paramref name="boxScale"/>, then moved
    /// down by <paramref name="boxShift"/> × its height (negative moves it up).
    /// </summary>
    internal static DetectedFace ToFace(in Candidate c, float boxScale, float boxShift)
    {
        var width = c.Width * boxScale;
        var height = c.Height * boxScale;
        var p = c.Points;
        return new DetectedFace(
            new BoxF(c.CenterX - width / 2, c.CenterY + boxShift * height - height / 2, width, height),
            c.Score,
            new FaceLandmarks(new(p[0], p[1]), new(p[2], p[3]), new(p[4], p[5]), new(p[6], p[7]), new(p[8], p[9]), new(p[10], p[11])));
    }

    /// <summary>Maps a normalised candidate back through the letterbox to image pixels.</summary>
    internal static DetectedFace ToImage(in Candidate c, Letterbox letterbox) => ToFace(ToImageSpace(c, letterbox), 1f, 0f);

    /// <summary>
    /// Whether a tile is worth a detector run: some weak candidate of the whole view is centred in it, and that
    /// candidate is not just a weaker anchor of a face already found (its centre inside a found face's box).
    /// </summary>
    internal static bool AnyProposalInTile(List<Candidate> proposals, List<Candidate> found, int x, int y, int side)
    {
        foreach (var p in proposals)
        {
            if (p.CenterX >= x && p.CenterX < x + side && p.CenterY >= y && p.CenterY < y + side && !Explained(p, found))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Square crops for a close look at the whole view's weak candidates: one per proposal that no found face explains,
    /// strongest first, centred on it, <paramref name="cropScale"/> × its long side but at least <paramref name="minSide"/>;
    /// a proposal centred in the middle half of an earlier crop shares that crop. At most <paramref name="maxCrops"/>.
    /// Sorts <paramref name="proposals"/> by score.
    /// </summary>
    internal static List<(int X, int Y, int Side)> ProposalCrops(List<Candidate> proposals, List<Candidate> found, float cropScale,
        int minSide, int maxCrops)
    {
        proposals.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        var crops = new List<(int X, int Y, int Side)>();
        foreach (var p in proposals)
        {
            if (crops.Count == maxCrops)
            {
                break;
            }
            if (Explained(p, found))
            {
                continue;
            }
            var shared = false;
            foreach (var (x, y, side) in crops)
            {
                if (Math.Abs(p.CenterX - (x + side / 2f)) <= side / 4f && Math.Abs(p.CenterY - (y + side / 2f)) <= side / 4f)
                {
                    shared = true;
                    break;
                }
            }
            if (!shared)
            {
                var cropSide = Math.Max(minSide, (int)MathF.Round(cropScale * Math.Max(p.Width, p.Height)));
                crops.Add(((int)MathF.Round(p.CenterX - cropSide / 2f), (int)MathF.Round(p.CenterY - cropSide / 2f), cropSide));
            }
        }
        return crops;
    }

    /// <summary>A weak candidate centred inside a found face's box is that face's weaker anchor, not another face.</summary>
    private static bool Explained(in Candidate proposal, List<Candidate> found)
    {
        foreach (var f in found)
        {
            if (Math.Abs(proposal.CenterX - f.CenterX) <= f.Width / 2 && Math.Abs(proposal.CenterY - f.CenterY) <= f.Height / 2)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Square tiles for a second, closer look at large images: each covers half the long side (so faces appear twice as
    /// large to the detector) and neighbours overlap by a quarter tile. None when the image is under 1.5 × the input size,
    /// where the whole-image view already resolves small faces.
    /// </summary>
    public static IReadOnlyList<(int X, int Y, int Side)> Tiles(int width, int height, int inputSize)
    {
        var longSide = Math.Max(width, height);
        if (longSide * 2 < inputSize * 3)
        {
            return [];
        }
        var side = Math.Max(inputSize, (longSide + 1) / 2);
        var xs = TileStarts(width, side);
        var ys = TileStarts(height, side);
        var tiles = new List<(int, int, int)>(xs.Length * ys.Length);
        foreach (var y in ys)
        {
            foreach (var x in xs)
            {
                tiles.Add((x, y, side));
            }
        }
        return tiles;
    }

    private static int[] TileStarts(int length, int side)
    {
        if (length <= side)
        {
            return [0];
        }
        var step = side - side / 4;
        var count = (length - side + step - 1) / step + 1;
        var starts = new int[count];
        for (var i = 0; i < count; i++)
        {
            starts[i] = (int)Math.Round((double)i * (length - side) / (count - 1));
        }
        return starts;
    }

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-Math.Clamp(x, -80f, 80f)));

    private static float Logit(float p)
    {
        p = Math.Clamp(p, 1e-6f, 1 - 1e-6f);
        return MathF.Log(p / (1 - p));
    }
}

/// <summary>
/// Aspect-preserving fit of an image into a square model input, centred with padding. Normalised input
/// coordinate u in [0,1] maps to image pixel (u * size - offset) / scale.
/// </summary>
internal readonly record struct Letterbox(float Scale, float OffsetX, float OffsetY, int InputSize)
{
    public static Letterbox Fit(int imageWidth, int imageHeight, int inputSize)
    {
        var scale = Math.Min((float)inputSize / imageWidth, (float)inputSize / imageHeight);
        return new Letterbox(scale, (inputSize - imageWidth * scale) / 2, (inputSize - imageHeight * scale) / 2, inputSize);
    }

    /// <summary>
    /// The image shrunk by <paramref name="downscale"/> at the top-left of a square frame, and the part of the frame a
    /// free-size model's input needs: whole <paramref name="cell"/>s, the long side between <paramref name="nominalSize"/>
    /// and <paramref name="maxSide"/>.
    /// </summary>
    public static (Letterbox View, int Columns, int Rows) Shrink(int imageWidth, int imageHeight, int nominalSize, int cell,
        float downscale, int maxSide)
    {
        var longSide = Math.Max(imageWidth, imageHeight);
        var side = Math.Clamp(RoundUp((int)MathF.Ceiling(longSide / downscale), cell), nominalSize, Math.Max(nominalSize, maxSide / cell * cell));
        var scale = (float)side / longSide;
        var columns = Math.Min(side, RoundUp((int)MathF.Ceiling(imageWidth * scale), cell));
        var rows = Math.Min(side, RoundUp((int)MathF.Ceiling(imageHeight * scale), cell));
        return (new Letterbox(scale, 0, 0, side), columns, rows);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>A square region of the image (possibly reaching past its edges) scaled to fill the input.</summary>
    public static Letterbox Tile(int x, int y, int side, int inputSize)
    {
        var scale = (float)inputSize / side;
        return new Letterbox(scale, -x * scale, -y * scale, inputSize);
    }

    public PointF ToImage(float u, float v) => new((u * InputSize - OffsetX) / Scale, (v * InputSize - OffsetY) / Scale);

    public PointF ToInput(float x, float y) => new((x * Scale + OffsetX) / InputSize, (y * Scale + OffsetY) / InputSize);
}
