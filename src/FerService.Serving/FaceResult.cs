using FerService.Inference.Classification;
using FerService.Inference.Detection;

namespace FerService.Serving;

/// <summary>A classified face. <see cref="Landmarks"/> are null when detection was off (the whole image is the face).</summary>
public sealed record FaceResult(BoxF Box, float Score, FaceLandmarks? Landmarks, float[] Probabilities)
{
    /// <summary>Index of the most probable label (the first on a tie).</summary>
    public int Dominant => Softmax.ArgMax(Probabilities);
}
