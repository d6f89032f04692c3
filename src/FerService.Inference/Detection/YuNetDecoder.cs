namespace FerService.Inference.Detection;

/// <summary>
/// YuNet's raw outputs to faces: per stride (8, 16, 32) a row-major grid of cells, each with a class and an objectness
/// score, a box regression and five keypoints, all relative to the cell; then non-maximum suppression and the removal of
/// faces nested in a stronger one.
/// </summary>
internal static class YuNetDecoder
{
    public const int KeypointCount = 5;

    /// <summary>
    /// Adds the cells of one stride scoring at least <paramref name="minScore"/>, in input pixels divided by
    /// <paramref name="scale"/> from (<paramref name="originX"/>, <paramref name="originY"/>): the image's pixels when the
    /// input is the image, or the part of it from that origin, scaled by it.
    /// </summary>
    /// <param name="classScores">[cells] class score, one per cell.</param>
    /// <param name="objectness">[cells] objectness.</param>
    /// <param name="boxes">[cells × 4] centre offset (dx, dy) in cells and log size (w, h) in strides.</param>
    /// <param name="keypoints">[cells × 10] five (x, y) offsets in cells: right eye, left eye, nose, right and left mouth corner.</param>
    public static void DecodeStride(ReadOnlySpan<float> classScores, ReadOnlySpan<float> objectness, ReadOnlySpan<float> boxes,
        ReadOnlySpan<float> keypoints, int columns, int rows, int stride, float scale, float minScore, List<FaceCandidate> output,
        float originX = 0, float originY = 0)
    {
        var cells = columns * rows;
        if (classScores.Length != cells || objectness.Length != cells || boxes.Length != cells * 4 || keypoints.Length != cells * 2 * KeypointCount)
        {
            throw new ArgumentException($"YuNet stride {stride} outputs do not fit a {columns}×{rows} grid.");
        }
        // sqrt(cls·obj) ≥ minScore ⇔ cls·obj ≥ minScore²: the square root only for the few cells that pass.
        var minProduct = minScore * minScore;
        var toImage = stride / scale;
        for (var i = 0; i < cells; i++)
        {
            var product = Math.Clamp(classScores[i], 0f, 1f) * Math.Clamp(objectness[i], 0f, 1f);
            if (product < minProduct)
            {
                continue;
            }
            float column = i % columns, row = i / columns;
            var box = boxes.Slice(i * 4, 4);
            var k = keypoints.Slice(i * 2 * KeypointCount, 2 * KeypointCount);
            var width = MathF.Exp(box[2]) * toImage;
            var height = MathF.Exp(box[3]) * toImage;
            var centreX = Image(originX, column, box[0]);
            var centreY = Image(originY, row, box[1]);
            if (!float.IsFinite(width + height + centreX + centreY))
            {
                // A regression that overflows is no box; JSON could not carry it either.
                continue;
            }
            output.Add(new FaceCandidate(MathF.Sqrt(product), new BoxF(centreX - width / 2, centreY - height / 2, width, height),
                new FaceLandmarks(
                    new(Image(originX, column, k[0]), Image(originY, row, k[1])),
                    new(Image(originX, column, k[2]), Image(originY, row, k[3])),
                    new(Image(originX, column, k[4]), Image(originY, row, k[5])),
                    new(Image(originX, column, k[6]), Image(originY, row, k[7])),
                    new(Image(originX, column, k[8]), Image(originY, row, k[9])))));
        }

        // A cell-relative coordinate in image pixels.
        float Image(float origin, float cell, float offset) => origin + (cell + offset) * toImage;
    }

    /// <summary>
    /// Strongest first; a candidate is dropped when it overlaps a kept one by IoU above <paramref name="iouThreshold"/>, or
    /// when either lies mostly inside the other (intersection over the smaller box at least <paramref name="nestedOverlap"/>):
    /// the second case is the duplicate box around or within a large face that IoU alone lets through.
    /// </summary>
    public static List<FaceCandidate> Suppress(List<FaceCandidate> candidates, float iouThreshold, float nestedOverlap)
    {
        candidates.Sort(static (a, b) => b.Score.CompareTo(a.Score));
        var kept = new List<FaceCandidate>();
        foreach (var candidate in candidates)
        {
            var keep = true;
            foreach (var stronger in kept)
            {
                if (BoxF.IntersectionOverUnion(candidate.Box, stronger.Box) > iouThreshold
                    || IntersectionOverSmaller(candidate.Box, stronger.Box) >= nestedOverlap)
                {
                    keep = false;
                    break;
                }
            }
            if (keep)
            {
                kept.Add(candidate);
            }
        }
        return kept;
    }

    /// <summary>The share of the smaller box that the two boxes have in common: 1 when one lies wholly inside the other.</summary>
    public static float IntersectionOverSmaller(BoxF a, BoxF b)
    {
        var width = Math.Min(a.Right, b.Right) - Math.Max(a.X, b.X);
        var height = Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Y, b.Y);
        var smaller = Math.Min(a.Area, b.Area);
        return width <= 0 || height <= 0 || smaller <= 0 ? 0 : width * height / smaller;
    }

    /// <summary>
    /// The reported face: a square of the box's geometric-mean side times <paramref name="boxScale"/>, moved down by
    /// <paramref name="boxShift"/> of that side, so it frames the face as FER2013's crops do (what the classifier learnt).
    /// </summary>
    public static DetectedFace ToFace(in FaceCandidate candidate, float boxScale, float boxShift)
    {
        var box = candidate.Box;
        var side = MathF.Sqrt(box.Width * box.Height) * boxScale;
        var centreY = box.CenterY + boxShift * side;
        return new DetectedFace(new BoxF(box.CenterX - side / 2, centreY - side / 2, side, side), candidate.Score, candidate.Landmarks);
    }
}

/// <summary>A decoded detection before suppression, in image pixels.</summary>
internal readonly record struct FaceCandidate(float Score, BoxF Box, FaceLandmarks Landmarks);
