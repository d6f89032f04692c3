using FerService.Inference.Detection;

namespace FerService.Inference;

/// <summary>
/// One face and its expression. <see cref="Emotion"/> is the most probable label and <see cref="Confidence"/> its
/// calibrated probability; <see cref="Uncertain"/> says the model's card would not trust that label (see the card's
/// uncertainty threshold). <see cref="Landmarks"/> is null when detection was off.
/// </summary>
public sealed record FaceEmotion(BoxF Box, float Score, FaceLandmarks? Landmarks, string Emotion, float Confidence, bool Uncertain,
    IReadOnlyDictionary<string, float> Probabilities);
