using FerService.Inference.Detection;

namespace FerService.Inference;

/// <summary>
/// One face and its expression, as the library, the service, the stream and video all report it. <see cref="Emotion"/> is
/// the most probable label and <see cref="Confidence"/> its calibrated probability; <see cref="Uncertain"/> says the
/// model's card would not trust that label (see the card's uncertainty threshold). <see cref="Landmarks"/> is null when
/// detection was off. Made by <see cref="ModelCard.Face"/>, the one place probabilities are read.
/// </summary>
public sealed record FaceEmotion(BoxF Box, float Score, FaceLandmarks? Landmarks, string Emotion, float Confidence, bool Uncertain,
    IReadOnlyDictionary<string, float> Probabilities)
{
    /// <summary>The same probabilities in the card's label order (what tracking smooths and metrics sum).</summary>
    public ReadOnlyMemory<float> ClassProbabilities { get; init; }
}
