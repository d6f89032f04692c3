using FerService.Api.Emotions;
namespace FerService.Api.Streaming;

/// <summary>One frame's answer: the faces with their track ids and smoothed probabilities, or an error.</summary>
public sealed record StreamFrameResult(long Frame, int? Width, int? Height, IReadOnlyList<StreamFace>? Faces, string? Error);

public sealed record StreamFace(int Track, BoxDto Box, float Score, LandmarksDto? Landmarks, IReadOnlyDictionary<string, float> Emotions, string DominantEmotion,
    bool Uncertain);
