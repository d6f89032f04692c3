using System.Net;
using FerService.Inference.Imaging;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Api.Tests.Emotions;

public sealed class AnnotateTests(FerApiFactory factory) : IClassFixture<FerApiFactory>
{
    private static int DifferingPixels(byte[] original, byte[] annotated)
    {
        var decoder = new SkiaImageDecoder();
        using var before = decoder.Decode(original, DecodeLimits.Default);
        using var after = decoder.Decode(annotated, DecodeLimits.Default);
        Assert.Equal((before.Width, before.Height), (after.Width, after.Height));
        var differing = 0;
        var a = before.Pixels;
        var b = after.Pixels;
        for (var i = 0; i < a.Length; i += 4)
        {
            differing += Math.Abs(a[i] - b[i]) + Math.Abs(a[i + 1] - b[i + 1]) + Math.Abs(a[i + 2] - b[i + 2]) > 60 ? 1 : 0;
        }
        return differing;
    }

    [Fer2013Fact]
    public async Task Annotate_SceneWithFaces_ReturnsSamePictureWithBoxesAndLabelsDrawn()
    {
        var scene = SceneBuilder.Build(PublicTest.Rows, [10, 200, 3000], new Random(6));
        using var content = Http.Multipart(("image", "scene.png", scene.Encoded, "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions/annotate", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var annotated = await response.Content.ReadAsByteArrayAsync();
        var changed = DifferingPixels(scene.Encoded, annotated);
        // Three box outlines and labels: thousands of pixels, yet a small part of the 307,200.
        Assert.InRange(changed, 2_000, 60_000);
        Directory.CreateDirectory(Path.Combine(TestPaths.RepositoryRoot, "artifacts", "screenshots"));
        await File.WriteAllBytesAsync(Path.Combine(TestPaths.RepositoryRoot, "artifacts", "screenshots", "annotated.png"), annotated);
    }

    [Fact]
    public async Task Annotate_JpegFormatAndExifRotation_ReturnsUprightJpeg()
    {
        using var bitmap = new SKBitmap(60, 40);
        bitmap.Erase(SKColors.Gray);
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        using var content = Http.Multipart(("image", "rotated.jpg", Exif.WithOrientation(data.ToArray(), 6), "image/jpeg"));
        var response = await factory.CreateClient().PostAsync("/api/emotions/annotate?format=jpeg", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/jpeg", response.Content.Headers.ContentType?.MediaType);
        using var codec = SKCodec.Create(new SKMemoryStream(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal((40, 60), (codec.Info.Width, codec.Info.Height));
    }

    [Theory]
    [InlineData("?format=gif", "format")]
    [InlineData("?maxFaces=0", "maxFaces")]
    public async Task Annotate_BadOption_Returns400Problem(string query, string parameter)
    {
        using var content = Http.Multipart(("image", "a.png", Http.Png(), "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions/annotate" + query, content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(parameter, (await response.JsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Annotate_TwoImages_Returns400AndCorruptImage422()
    {
        using var two = Http.Multipart(("images", "a.png", Http.Png(), "image/png"), ("images", "b.png", Http.Png(), "image/png"));
        Assert.Equal(HttpStatusCode.BadRequest, (await factory.CreateClient().PostAsync("/api/emotions/annotate", two)).StatusCode);
        var png = Http.Png(128);
        using var cut = Http.Multipart(("image", "cut.png", png[..(png.Length / 2)], "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions/annotate", cut);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
