namespace FerService.Inference.Detection;

/// <summary>A face in image pixels (displayed orientation).</summary>
internal sealed record DetectedFace(BoxF Box, float Score, FaceLandmarks Landmarks);
