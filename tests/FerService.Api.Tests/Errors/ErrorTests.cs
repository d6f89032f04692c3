using System.Net;
using System.Net.Http.Json;
using System.Text;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Api.Tests.Errors;

public sealed class ErrorTests(FerApiFactory factory) : IClassFixture<FerApiFactory>
{
    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detailFragment)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.Contains(detailFragment, problem.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Post_MultipartWithoutFile_Returns400Problem()
    {
        using var content = new MultipartFormDataContent { { new StringContent("x"), "note" } };
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "no image");
    }

    [Fact]
    public async Task Post_TextFile_Returns415Problem()
    {
        using var content = Http.Multipart(("image", "notes.txt", Encoding.UTF8.GetBytes("just some text, not pixels"), "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "not a supported image format");
    }

    [Fact]
    public async Task Post_TruncatedPng_Returns422Problem()
    {
        var png = Http.Png(128);
        using var content = Http.Multipart(("image", "cut.png", png[..(png.Length / 2)], "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "png");
    }

    [Fact]
    public async Task Post_PlainTextBody_Returns415Problem()
    {
        using var content = new StringContent("hello", Encoding.UTF8, "text/plain");
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "multipart/form-data");
    }

    [Theory]
    [InlineData("maxFaces=0", "maxFaces")]
    [InlineData("minScore=1.5", "minScore")]
    [InlineData("detect=maybe", "detect")]
    [InlineData("minFaceSize=-3", "minFaceSize")]
    public async Task Post_InvalidOption_Returns400Problem(string query, string parameter)
    {
        using var content = Http.Multipart(("image", "a.png", Http.Png(), "image/png"));
        var response = await factory.CreateClient().PostAsync($"/api/emotions?{query}", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, parameter);
    }

    [Fact]
    public async Task Post_JsonWithInvalidBase64_Returns400Problem()
    {
        var response = await factory.CreateClient().PostAsJsonAsync("/api/emotions", new { images = new[] { new { name = "a", data = "%%%not-base64" } } });
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "base64");
    }

    [Fact]
    public async Task Post_MalformedJson_Returns400Problem()
    {
        using var content = new StringContent("{\"images\": [", Encoding.UTF8, "application/json");
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "json");
    }

    [Fact]
    public async Task Post_JsonWithUnknownCharset_Returns415Problem()
    {
        using var content = new ByteArrayContent("{\"images\":[]}"u8.ToArray());
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=bogus");
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "UTF-8");
    }

    [Theory]
    [InlineData("{\"images\":[42]}", "$.images[0]")]
    [InlineData("{\"images\":[{\"name\":\"a.png\",\"data\":7}]}", "$.images[0].data")]
    [InlineData("{\"images\":\"a.png\"}", "$.images")]
    public async Task Post_JsonOfTheWrongShape_Returns400InTheCallersTerms(string json, string path)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await response.JsonAsync()).GetProperty("detail").GetString()!;
        Assert.Contains(path, detail, StringComparison.Ordinal);
        Assert.DoesNotContain("FerService", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_MultipartWithoutClosingBoundary_Returns400Problem()
    {
        using var content = Http.MultipartWithoutClosingBoundary("images", "a.png", "image/png");
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "closing boundary");
    }

    [Fact]
    public async Task Post_MultipartWithoutBoundaryParameter_Returns400Problem()
    {
        using var content = new ByteArrayContent(Encoding.ASCII.GetBytes("--XYZ\r\n\r\n--XYZ--\r\n"));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data");
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "boundary");
    }

    [Fact]
    public async Task Post_TooManyImages_Returns400Problem()
    {
        var png = Http.Png();
        using var content = Http.Images(Enumerable.Repeat(png, 33));
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "at most 32");
    }

    [Fact]
    public async Task Post_OneBadImageAmongGood_OthersSucceedAndBadCarriesProblem()
    {
        using var content = Http.Multipart(("images", "good.png", Http.Png(), "image/png"), ("images", "bad.txt", "text"u8.ToArray(), "text/plain"));
        var response = await factory.CreateClient().PostAsync("/api/emotions?detect=false", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var images = (await response.JsonAsync()).GetProperty("images");
        Assert.Equal(1, images[0].GetProperty("faces").GetArrayLength());
        Assert.Equal(415, images[1].GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("bad.txt", images[1].GetProperty("name").GetString());
    }

    [Fact]
    public async Task Post_ImageOverPixelLimit_Returns413Problem()
    {
        // A 20000×1 PNG is tiny on the wire but over the 16384-pixel side limit.
        using var bitmap = new SKBitmap(20_000, 1);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        using var content = Http.Multipart(("image", "wide.png", data.ToArray(), "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "limit");
    }

    [Fact]
    public async Task Get_UnknownRoute_Returns404Problem()
    {
        var response = await factory.CreateClient().GetAsync("/api/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public void TestData_Location_IsReportedWhenMissing()
    {
        // Guards the skip message tests rely on: it must say where the data goes.
        Assert.Contains("data/", TestPaths.MissingDataMessage, StringComparison.Ordinal);
    }
}
