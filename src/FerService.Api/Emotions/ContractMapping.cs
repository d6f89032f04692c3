using FerService.Api.Streaming;
using FerService.Inference;
using FerService.Inference.Detection;
using FerService.Serving;

namespace FerService.Api.Emotions;

/// <summary>The pipeline's results as the HTTP contract's records: rounded for the wire, labels from the model card.</summary>
internal static class ContractMapping
{
    internal static FaceDto[] ToDtos(IReadOnlyList<FaceEmotion> faces, ModelCard model)
    {
        var labels = model.Labels;
        var dtos = new FaceDto[faces.Count];
        for (var f = 0; f < faces.Count; f++)
        {
            var face = faces[f];
            var emotions = new Dictionary<string, float>(labels.Count);
            foreach (var name in labels)
            {
                emotions[name] = MathF.Round(face.Probabilities[name], 4);
            }
            dtos[f] = new FaceDto(
                new BoxDto(Round(face.Box.X), Round(face.Box.Y), Round(face.Box.Width), Round(face.Box.Height)),
                MathF.Round(face.Score, 4),
                face.Landmarks is { } l ? new LandmarksDto(Point(l.RightEye), Point(l.LeftEye), Point(l.Nose), Point(l.Mouth), Point(l.RightMouth), Point(l.LeftMouth)) : null,
                emotions,
                face.Emotion,
                face.Uncertain);
        }
        return dtos;
    }

    internal static PointDto Point(PointF p) => new(Round(p.X), Round(p.Y));

    private static float Round(float value) => MathF.Round(value, 1);

    private static double Round(double value) => Math.Round(value, 2);

    internal static ResponseTimings Timings(double decodeMs, double detectMs, double classifyMs, double totalMs) =>
        new(Round(decodeMs), Round(detectMs), Round(classifyMs), Round(totalMs));

    /// <summary>Tracked faces with their smoothed probabilities, as the stream and the video timeline send them.</summary>
    internal static StreamFace[] ToStreamFaces(IReadOnlyList<TrackedFace> tracked, ModelCard model)
    {
        var faces = new StreamFace[tracked.Count];
        for (var i = 0; i < tracked.Count; i++)
        {
            var (track, face, smoothed) = tracked[i];
            var dto = ToDtos([model.Face(face.Box, face.Score, face.Landmarks, smoothed)], model)[0];
            faces[i] = new StreamFace(track, dto.Box, dto.Score, dto.Landmarks, dto.Emotions, dto.DominantEmotion, dto.Uncertain);
        }
        return faces;
    }
}
