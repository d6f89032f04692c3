using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using SkiaSharp;

namespace FerService.Inference.Tests;

public sealed class AlignmentTests
{
    private static readonly ModelInput GreyInput = new()
    {
        Name = "input", Shape = [-1, 1, 48, 48], Channels = 1, Width = 48, Height = 48, Mean = [0.0], Std = [1.0],
    };

    private static DetectedFace Face(BoxF box, PointF rightEye, PointF leftEye) =>
        new(box, 0.9f, new FaceLandmarks(rightEye, leftEye, default, default, default, default));

    [Fact]
    public void FaceTransform_LevelEyes_MapsBoxCentreToCropCentreAndSideToWidth()
    {
        var face = Face(new BoxF(100, 50, 80, 80), new PointF(120, 80), new PointF(160, 80));
        var m = FaceAligner.FaceTransform(face, 48, 48, 1.0);
        var centre = m.MapPoint(140, 90);
        Assert.Equal(24f, centre.X, 3);
        Assert.Equal(24f, centre.Y, 3);
        var corner = m.MapPoint(100, 50);
        Assert.Equal(0f, corner.X, 3);
        Assert.Equal(0f, corner.Y, 3);
    }

    [Fact]
    public void FaceTransform_TiltedEyes_LevelsTheEyeLine()
    {
        // Eyes tilted by 30°: after alignment both eyes must sit on one row, right eye (image left) first.
        var angle = MathF.PI / 6;
        var centre = new PointF(200, 200);
        var rightEye = new PointF(centre.X - 30 * MathF.Cos(angle), centre.Y - 30 * MathF.Sin(angle));
        var leftEye = new PointF(centre.X + 30 * MathF.Cos(angle), centre.Y + 30 * MathF.Sin(angle));
        var m = FaceAligner.FaceTransform(Face(new BoxF(150, 150, 100, 100), rightEye, leftEye), 48, 48, 1.2);
        var r = m.MapPoint(rightEye.X, rightEye.Y);
        var l = m.MapPoint(leftEye.X, leftEye.Y);
        Assert.Equal(r.Y, l.Y, 3);
        Assert.True(l.X > r.X);
        Assert.Equal(60f * 48 / 120, l.X - r.X, 2);
    }

    [Fact]
    public void CropWhole_GreyImage_NormalisesWithManifestScale()
    {
        var grey = new byte[48 * 48];
        for (var i = 0; i < grey.Length; i++)
        {
            grey[i] = (byte)(i % 48 * 5);
        }
        using var image = RgbaImage.FromGrey(grey, 48, 48);
        var crop = new float[48 * 48];
        new FaceAligner(GreyInput).CropWhole(image, crop);
        for (var i = 0; i < grey.Length; i++)
        {
            Assert.Equal(grey[i] / 255f, crop[i], 3);
        }
    }

    [Fact]
    public void CropFace_ColouredFace_ProducesBt601Grey()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(100, 100, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(new SKColor(200, 100, 50));
        using var image = new RgbaImage(100, 100);
        bitmap.GetPixelSpan().CopyTo(image.Pixels);
        var crop = new float[48 * 48];
        new FaceAligner(GreyInput).CropFace(image, Face(new BoxF(20, 20, 60, 60), new PointF(35, 40), new PointF(65, 40)), crop);
        var expected = MathF.Round(0.299f * 200 + 0.587f * 100 + 0.114f * 50) / 255f;
        Assert.Equal(expected, crop[24 * 48 + 24], 3);
    }

    [Fact]
    public void Mirror_Crop_ReversesEveryRowOfEveryPlane()
    {
        float[] crop = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        Assert.Equal([3f, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10], Pipeline.EmotionPipeline.Mirror(crop, 3));
    }
}
