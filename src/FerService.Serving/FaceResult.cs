using FerService.Inference.Detection;

namespace FerService.Serving;

/// <summary>
/// A classified face. <see cref="Landmarks"/> are null when detection was off (the whole image is the face). Its label,
/// confidence and uncertainty are the card's reading of <see cref="Probabilities"/> (<see cref="Inference.ModelCard.Label"/>).
/// </summary>
public sealed record FaceResult(BoxF Box, float Score, FaceLandmarks? Landmarks, float[] Probabilities);
