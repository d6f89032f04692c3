using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace FerService.Api.Tests.Hosting;

/// <summary>Request limits enforced by Kestrel itself, so these run against a real Kestrel server.</summary>
public sealed class KestrelLimitTests(KestrelFerApiFactory factory) : IClassFixture<KestrelFerApiFactory>
{
    /// <summary>A stream of unknown length, so HttpClient sends it chunked with no Content-Length.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private static async Task AssertTooLargeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.JsonAsync();
        Assert.Equal(413, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", problem.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_MultipartOverBodyLimitWithContentLength_Returns413()
    {
        using var content = Http.Multipart(("image", "big.png", new byte[KestrelFerApiFactory.MaxRequestBytes + 1000], "image/png"));
        // As curl does for large bodies: the declared length is refused before the body is sent. Without it the client
        // may still be writing when the server answers 413 and closes, and sees a broken pipe instead (seen once in CI).
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/emotions") { Content = content };
        request.Headers.ExpectContinue = true;
        await AssertTooLargeAsync(await factory.CreateClient().SendAsync(request));
    }

    [Fact]
    public async Task Post_ChunkedJsonOverBodyLimit_Returns413()
    {
        var json = Encoding.UTF8.GetBytes("{\"images\":[{\"data\":\"" + new string('A', KestrelFerApiFactory.MaxRequestBytes * 2) + "\"}]}");
        using var content = new UnknownLengthContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);
        await AssertTooLargeAsync(response);
    }

    [Fact]
    public async Task Post_ChunkedMultipartOverBodyLimit_Returns413()
    {
        using var multipart = Http.Multipart(("image", "big.png", new byte[KestrelFerApiFactory.MaxRequestBytes * 2], "image/png"));
        var bytes = await multipart.ReadAsByteArrayAsync();
        using var content = new UnknownLengthContent(bytes);
        content.Headers.ContentType = multipart.Headers.ContentType;
        await AssertTooLargeAsync(await factory.CreateClient().PostAsync("/api/emotions", content));
    }

    [Fact]
    public async Task Post_TinyPngDeclaringHugeDimensions_Returns413FromTheHeaderQuickly()
    {
        var png = Http.PngHeaderOnly(65_535, 65_535);
        Assert.True(png.Length < 120);
        var client = factory.CreateClient();
        using var content = Http.Multipart(("image", "bomb.png", png, "image/png"));
        var clock = Stopwatch.StartNew();
        var response = await client.PostAsync("/api/emotions", content);
        clock.Stop();
        await AssertTooLargeAsync(response);
        Assert.True(clock.ElapsedMilliseconds < 2_000, $"took {clock.ElapsedMilliseconds} ms");

        // And the service keeps serving.
        using var next = Http.Multipart(("image", "ok.png", Http.Png(), "image/png"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/emotions?detect=false", next)).StatusCode);
    }
}
