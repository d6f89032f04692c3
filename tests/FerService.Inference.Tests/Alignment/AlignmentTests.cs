using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using SkiaSharp;

namespace FerService.Inference.Tests.Alignment;

public sealed class AlignmentTests
{
    private static readonly ModelInput GreyInput = new()
    {
        Name = "input", Shape = [-1, 1, 48, 48], Channels = 1, Width = 48, Height = 48, Mean = [0.0], Std = [1.0],
    };

    private static DetectedFace Face(BoxF box, PointF rightEye, PointF leftEye) =>
        new(box, 0.9f, new FaceLandmarks(rightEye, leftEye, default, default, default));

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

    [Theory]
    [InlineData(20, 20)]   // within FER2013's own spread of head roll: left as it is
    [InlineData(-25, -25)]
    [InlineData(60, 30)]   // a head on its side: turned back to the largest roll kept
    [InlineData(-90, -30)]
    public void FaceTransform_TiltedEyes_KeepsRollUpToTheLimit(float rollDegrees, float expectedDegrees)
    {
        var angle = rollDegrees * MathF.PI / 180;
        var centre = new PointF(200, 200);
        var rightEye = new PointF(centre.X - 30 * MathF.Cos(angle), centre.Y - 30 * MathF.Sin(angle));
        var leftEye = new PointF(centre.X + 30 * MathF.Cos(angle), centre.Y + 30 * MathF.Sin(angle));
        var m = FaceAligner.FaceTransform(Face(new BoxF(150, 150, 100, 100), rightEye, leftEye), 48, 48, 1.2);
        var r = m.MapPoint(rightEye.X, rightEye.Y);
        var l = m.MapPoint(leftEye.X, leftEye.Y);
        Assert.Equal(expectedDegrees, MathF.Atan2(l.Y - r.Y, l.X - r.X) * 180 / MathF.PI, 2);
        // The eyes' distance scales with the crop (60 px of a 120 px square into 48 px), whatever the rotation.
        Assert.Equal(60f * 48 / 120, MathF.Sqrt((l.X - r.X) * (l.X - r.X) + (l.Y - r.Y) * (l.Y - r.Y)), 2);
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

    [Theory]
    [InlineData(640, 480, 300, 200, 40, 0)] // enlarged: no mipmaps
    [InlineData(640, 480, 301, 203, 120, 20)] // 2.5× smaller, tilted: blends mipmap levels 1 and 2
    [InlineData(640, 480, 333, 250, 400, -35)] // 8× smaller, much of it outside the image
    [InlineData(640, 480, 5, 470, 90, 10)] // at the bottom-left corner
    [InlineData(640, 480, 630, 3, 150, 0)] // at the top-right corner
    [InlineData(641, 479, 301, 203, 120, 20)] // odd sides: Skia's levels are not exact halves there
    [InlineData(644, 480, 301, 203, 120, 20)] // a side divisible by 4 but not by 8
    public void CropFace_LargeImage_SameCropAsDrawingTheWholeImage(int width, int height, float centreX, float centreY, float side, float tiltDegrees)
    {
        using var image = new RgbaImage(width, height);
        var pixels = image.Pixels;
        var random = new Random(17);
        for (var i = 0; i < pixels.Length; i += 4)
        {
            var x = i / 4 % image.Width;
            var y = i / 4 / image.Width;
            // Texture at every scale: gradients, stripes and noise.
            pixels[i] = (byte)(x * 255 / image.Width);
            pixels[i + 1] = (byte)((x / 3 + y / 5) % 2 * 200 + random.Next(40));
            pixels[i + 2] = (byte)(y * 255 / image.Height ^ random.Next(16));
            pixels[i + 3] = 255;
        }
        var tilt = tiltDegrees * MathF.PI / 180;
        var face = Face(new BoxF(centreX - side / 2, centreY - side / 2, side, side),
            new PointF(centreX - side / 4 * MathF.Cos(tilt), centreY - side / 4 * MathF.Sin(tilt)),
            new PointF(centreX + side / 4 * MathF.Cos(tilt), centreY + side / 4 * MathF.Sin(tilt)));
        var aligner = new FaceAligner(GreyInput);
        var crop = new float[48 * 48];

        aligner.CropFace(image, face, crop);

        var expected = DrawWholeImage(image, FaceAligner.FaceTransform(face, 48, 48, GreyInput.FaceCropScale));
        // Skia's sample positions are relative to the image it draws, so a grey level may round the other way now and then.
        double totalDifference = 0;
        var differing = 0;
        for (var i = 0; i < crop.Length; i++)
        {
            var difference = Math.Abs(expected[i] - crop[i]) * 255;
            totalDifference += difference;
            differing += difference > 1.5 ? 1 : 0;
        }
        Assert.Equal(0, differing);
        Assert.True(totalDifference / crop.Length < 0.05, $"mean difference {totalDifference / crop.Length:F3} grey levels");
    }

    /// <summary>The aligner's crop as it was drawn before it passed Skia only the sampled region: the whole image, grey.</summary>
    private static float[] DrawWholeImage(RgbaImage image, SKMatrix transform)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(48, 48, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var surface = SKSurface.Create(bitmap.Info, bitmap.GetPixels(), bitmap.RowBytes))
        using (var source = SKImage.FromPixels(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul), image.Address, image.RowBytes))
        {
            var canvas = surface.Canvas;
            canvas.Clear(SKColors.Black);
            canvas.SetMatrix(transform);
            canvas.DrawImage(source, 0, 0, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            canvas.Flush();
        }
        var bytes = bitmap.GetPixelSpan();
        var grey = new float[48 * 48];
        for (var i = 0; i < grey.Length; i++)
        {
            grey[i] = MathF.Round(0.299f * bytes[4 * i] + 0.587f * bytes[4 * i + 1] + 0.114f * bytes[4 * i + 2]) / 255f;
        }
        return grey;
    }

    [Fact]
    public void Mirror_Crop_ReversesEveryRowOfEveryPlane()
    {
        float[] crop = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
        Assert.Equal([3f, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10], FaceCropper.Mirror(crop, 3));
    }
}
