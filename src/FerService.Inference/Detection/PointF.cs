namespace FerService.Inference.Detection;

public readonly record struct PointF(float X, float Y);
