namespace FerService.Inference.Detection;

/// <summary>
/// The five YuNet keypoints. "Right" is the subject's right, which appears on the image's left.
/// </summary>
public readonly record struct FaceLandmarks(PointF RightEye, PointF LeftEye, PointF Nose, PointF RightMouth, PointF LeftMouth)
{
    /// <summary>The middle of the mouth, between its corners.</summary>
    public PointF Mouth => new((RightMouth.X + LeftMouth.X) / 2, (RightMouth.Y + LeftMouth.Y) / 2);

    /// <summary>Every point scaled by (<paramref name="x"/>, <paramref name="y"/>): from a scaled decode back to source pixels.</summary>
    public FaceLandmarks Scale(float x, float y) => new(Scale(RightEye, x, y), Scale(LeftEye, x, y), Scale(Nose, x, y),
        Scale(RightMouth, x, y), Scale(LeftMouth, x, y));

    private static PointF Scale(PointF p, float x, float y) => new(p.X * x, p.Y * y);
}
