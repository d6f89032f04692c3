namespace FerService.Inference.Detection;

/// <summary>The six BlazeFace keypoints. "Right" is the subject's right, which appears on the image's left.</summary>
public readonly record struct FaceLandmarks(PointF RightEye, PointF LeftEye, PointF Nose, PointF Mouth, PointF RightEar, PointF LeftEar);
