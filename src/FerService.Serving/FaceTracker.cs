using FerService.Inference;
using FerService.Inference.Detection;

namespace FerService.Serving;

/// <summary>
/// Follows faces across the frames of one stream: each face takes the id of the previous frame's face it overlaps
/// most (IoU, greedy, best pairs first), or a new id; probabilities are an exponential moving average per track,
/// so labels do not flicker from frame to frame. Not thread-safe: one per stream.
/// </summary>
public sealed class FaceTracker(float smoothing = 0.6f)
{
    /// <summary>A face continues the track whose last box it overlaps by at least this (frames a few per second apart).</summary>
    private const float MinIou = 0.3f;

    private List<(int Track, BoxF Box, float[] Smoothed)> _previous = [];
    private int _nextTrack = 1;

    public IReadOnlyList<TrackedFace> Update(IReadOnlyList<FaceEmotion> faces)
    {
        var pairs = new List<(float Iou, int Face, int Previous)>();
        for (var f = 0; f < faces.Count; f++)
        {
            for (var p = 0; p < _previous.Count; p++)
            {
                var iou = BoxF.IntersectionOverUnion(faces[f].Box, _previous[p].Box);
                if (iou >= MinIou)
                {
                    pairs.Add((iou, f, p));
                }
            }
        }
        pairs.Sort(static (a, b) => b.Iou.CompareTo(a.Iou));
        var match = new int[faces.Count];
        Array.Fill(match, -1);
        var taken = new bool[_previous.Count];
        foreach (var (_, face, previous) in pairs)
        {
            if (match[face] < 0 && !taken[previous])
            {
                match[face] = previous;
                taken[previous] = true;
            }
        }

        var tracked = new TrackedFace[faces.Count];
        var current = new List<(int, BoxF, float[])>(faces.Count);
        for (var f = 0; f < faces.Count; f++)
        {
            var probabilities = faces[f].ClassProbabilities.Span;
            int track;
            float[] smoothed;
            if (match[f] >= 0)
            {
                var (previousTrack, _, previousSmoothed) = _previous[match[f]];
                track = previousTrack;
                smoothed = new float[probabilities.Length];
                for (var c = 0; c < smoothed.Length; c++)
                {
                    smoothed[c] = smoothing * previousSmoothed[c] + (1 - smoothing) * probabilities[c];
                }
            }
            else
            {
                track = _nextTrack++;
                smoothed = probabilities.ToArray();
            }
            tracked[f] = new TrackedFace(track, faces[f], smoothed);
            current.Add((track, faces[f].Box, smoothed));
        }
        _previous = current;
        return tracked;
    }
}
