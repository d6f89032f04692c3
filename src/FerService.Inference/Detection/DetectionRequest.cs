namespace FerService.Inference.Detection;

/// <summary>Per-request detection settings, validated at the HTTP boundary.</summary>
public sealed record DetectionRequest(float MinScore, int MaxFaces, float MinFaceSize);
