using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Tests.Shared;

namespace FerService.Inference.Tests.Detection;

/// <summary>The real YuNet model behind our decoding: degenerate photos and one real face.</summary>
public sealed class YuNetDetectorTests : IDisposable
{
    private readonly YuNetDetector _detector = TestDetector.Create();

    private static readonly DetectionRequest Request = new DetectionOptions().DefaultRequest(10);

    public void Dispose() => _detector.Dispose();

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 20_000)]
    [InlineData(20_000, 1)]
    [InlineData(31, 33)]
    public void Detect_DegenerateSizes_NoFaceAndNoError(int width, int height)
    {
        using var image = new RgbaImage(width, height);
        image.Pixels.Fill(128);

        Assert.Empty(_detector.Detect(image, Request));
    }

    [Fer2013Fact]
    public void Detect_FaceInAScene_OneBoxOnItWithEyesAboveTheMouth()
    {
        var scene = SceneBuilder.BuildAt(PublicTest.Rows, [(10, new BoxF(200, 120, 180, 180))], new Random(3), 640, 480);
        using var image = new SkiaImageDecoder().Decode(scene.Encoded, DecodeLimits.Default);

        var face = Assert.Single(_detector.Detect(image, Request, out var runs));

        Assert.Equal(1, runs);
        Assert.True(BoxF.IntersectionOverUnion(face.Box, scene.Faces[0].Box) >= 0.6, $"box {face.Box}");
        var l = face.Landmarks;
        Assert.True(l.RightEye.X < l.LeftEye.X, "the subject's right eye is on the image's left");
        Assert.True(Math.Max(l.RightEye.Y, l.LeftEye.Y) < l.Nose.Y && l.Nose.Y < l.Mouth.Y, $"{l}");
    }
}
