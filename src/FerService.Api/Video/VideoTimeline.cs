using FerService.Api.Emotions;
using FerService.Api.Streaming;
using FerService.Inference;
using FerService.Serving.Video;

namespace FerService.Api.Video;

/// <summary>Gathers a video's analysed frames into one timeline per track and the summary of each.</summary>
internal sealed class VideoTimeline(ModelCard model)
{
    private readonly Dictionary<int, List<(VideoSample Sample, ReadOnlyMemory<float> Raw)>> _tracks = [];
    private int _frames;

    public void Add(VideoFrame frame, IReadOnlyList<StreamFace> faces)
    {
        _frames++;
        for (var i = 0; i < faces.Count; i++)
        {
            var face = faces[i];
            if (!_tracks.TryGetValue(face.Track, out var samples))
            {
                _tracks[face.Track] = samples = [];
            }
            samples.Add((new VideoSample(Math.Round(frame.Seconds, 3), face.Box, face.Emotions, face.DominantEmotion, face.Uncertain),
                frame.Faces[i].Face.ClassProbabilities));
        }
    }

    public VideoResponse ToResponse(VideoInfo info, double fps, double totalMs)
    {
        var labels = model.Labels;
        var tracks = new List<VideoTrack>(_tracks.Count);
        foreach (var (id, samples) in _tracks.OrderBy(t => t.Key))
        {
            var share = new Dictionary<string, float>(labels.Count);
            var mean = new Dictionary<string, float>(labels.Count);
            var sums = new double[labels.Count];
            foreach (var label in labels)
            {
                share[label] = 0;
            }
            foreach (var (sample, raw) in samples)
            {
                share[sample.DominantEmotion]++;
                for (var c = 0; c < sums.Length; c++)
                {
                    sums[c] += raw.Span[c];
                }
            }
            for (var c = 0; c < labels.Count; c++)
            {
                share[labels[c]] = MathF.Round(share[labels[c]] / samples.Count, 4);
                mean[labels[c]] = MathF.Round((float)(sums[c] / samples.Count), 4);
            }
            tracks.Add(new VideoTrack(id, samples[0].Sample.Seconds, samples[^1].Sample.Seconds, samples.ConvertAll(s => s.Sample), share, mean));
        }
        // Frame k shows time k / fps, so a whole video holds ceil(duration × fps); one short is rounding at the last frame.
        var expected = (int)Math.Ceiling(Math.Round(info.DurationSeconds * fps, 6));
        return new VideoResponse(new ModelSummary(model.Name, model.Version, labels),
            new VideoSummary(info.Container, info.Codec, info.Width, info.Height, Math.Round(info.DurationSeconds, 3), fps, _frames, expected,
                _frames >= expected - 1),
            tracks, Math.Round(totalMs, 1));
    }
}
