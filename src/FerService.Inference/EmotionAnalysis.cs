using FerService.Inference.Detection;

namespace FerService.Inference;

/// <summary>The faces found in one image, in source pixels of its displayed orientation.</summary>
public sealed record EmotionAnalysis(int Width, int Height, IReadOnlyList<FaceEmotion> Faces);
