using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using FerService.Tests.Shared;

namespace FerService.Inference.Tests.Pipeline;

/// <summary>Decode → detect → align with the real detector: a large JPEG decoded scaled gives the faces a full decode gives.</summary>
public sealed class FaceCropperTests : IDisposable
{
    private readonly YuNetDetector _detector = TestDetector.Create();

    public void Dispose() => _detector.Dispose();

    [Fer2013Fact]
    public void Prepare_LargeJpegDecodedScaled_SameFacesInSourcePixelsAsFullDecode()
    {
        var scene = SceneBuilder.Build(PublicTest.Rows, [11, 222, 1333, 2444], new Random(29), 2880, 2160, 260, 560, SkiaSharp.SKEncodedImageFormat.Jpeg);
        var aligner = new FaceAligner(ModelManifest.Load(TestPaths.ServiceClassifierManifest).Input);
        var request = new AnalysisRequest(true, new DetectionOptions().DefaultRequest(50));
        var decoder = new SkiaImageDecoder();

        var scaled = new FaceCropper(decoder, _detector, aligner, DecodeLimits.Default).Prepare(scene.Encoded, request, false, CancellationToken.None);
        var full = new FaceCropper(decoder, _detector, aligner, DecodeLimits.Default, decodeMinLongSide: 0).Prepare(scene.Encoded, request, false, CancellationToken.None);

        Assert.Equal((2880, 2160), (scaled.Width, scaled.Height));
        Assert.Equal(scene.Faces.Count, scaled.Crops.Count);
        Assert.Equal(full.Crops.Count, scaled.Crops.Count);
        foreach (var (_, truth) in scene.Faces)
        {
            var scaledBox = scaled.Crops.MaxBy(face => BoxF.IntersectionOverUnion(truth, face.Box))!.Box;
            var fullBox = full.Crops.MaxBy(face => BoxF.IntersectionOverUnion(truth, face.Box))!.Box;
            Assert.True(BoxF.IntersectionOverUnion(truth, scaledBox) >= 0.4, $"pasted face {truth} matched {scaledBox} only");
            Assert.True(BoxF.IntersectionOverUnion(scaledBox, fullBox) >= 0.85, $"scaled {scaledBox} vs full {fullBox}");
        }
    }
}
