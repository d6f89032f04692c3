using System.Net;
using SkiaSharp;

namespace FerService.Api.Tests;

public sealed class BackpressureTests
{
    /// <summary>A large noisy photo-sized PNG: slow enough to decode and search (every tile) that concurrent requests overlap.</summary>
    private static readonly Lazy<byte[]> LargeImage = new(() => Http.NoisyPng(2400, 1800, 4));

    private static Task<HttpResponseMessage> PostLargeAsync(HttpClient client)
    {
        var content = Http.Multipart(("image", "large.png", LargeImage.Value, "image/png"));
        return client.PostAsync("/api/emotions", content);
    }

    [Fact]
    public async Task Post_MoreConcurrentRequestsThanAllowed_ExtraGet503WithRetryAfterWhileHealthAnswers()
    {
        using var factory = new FerApiFactory(("Fer:Limits:MaxConcurrentRequests", "1"), ("Fer:Limits:MaxQueuedRequests", "0"),
            ("Fer:Detection:TileProposalScore", "0"));
        var client = factory.CreateClient();

        var posts = Enumerable.Range(0, 6).Select(_ => PostLargeAsync(client)).ToArray();
        var live = await client.GetAsync("/health/live");
        var responses = await Task.WhenAll(posts);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable).ToArray();
        Assert.NotEmpty(rejected);
        foreach (var response in rejected)
        {
            Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(503, (await response.JsonAsync()).GetProperty("status").GetInt32());
        }
    }

    [Fact]
    public async Task Post_OverRequestTimeout_Returns504Problem()
    {
        // 12 megapixels that compress to a few kilobytes: uploaded at once, then slow to decode and search (every tile:
        // with proposal tiling the blank image needs one detector run and could finish inside the timeout).
        using var bitmap = new SKBitmap(4000, 3000);
        bitmap.Erase(SKColors.SlateGray);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        // On Kestrel: the in-memory test server reports the timeout's cancellation as a client abort.
        using var factory = FerApiFactory.OnKestrel(("Fer:Limits:RequestTimeout", "00:00:00.020"), ("Fer:Detection:TileProposalScore", "0"));
        using var content = Http.Multipart(("image", "large.png", png.ToArray(), "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(504, (await response.JsonAsync()).GetProperty("status").GetInt32());
    }
}
