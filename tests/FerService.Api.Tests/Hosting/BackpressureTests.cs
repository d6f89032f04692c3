using System.Net;
using SkiaSharp;

namespace FerService.Api.Tests.Hosting;

public sealed class BackpressureTests
{
    [Fact]
    public async Task Post_MoreConcurrentRequestsThanAllowed_ExtraGet503WithRetryAfterWhileHealthAnswers()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Limits:MaxConcurrentRequests", "1"), ("Fer:Limits:MaxQueuedRequests", "1"),
            ("Fer:Detection:MaxInputSide", "4096"));
        var client = factory.CreateClient();
        // Bodies are read before admission, so the one slot is held by work, not by a slow body: large blank images seen by
        // the detector at full size. The client gives up on it once the others are answered.
        using var giveUp = new CancellationTokenSource();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var slow = Http.Images(Enumerable.Repeat(LargeBlankPng(), 8));
        var held = client.PostAsync("/api/emotions", slow, giveUp.Token);
        await Task.Delay(TimeSpan.FromSeconds(1));

        var posts = Enumerable.Range(0, 4).Select(_ => client.PostAsync("/api/emotions?detect=false", SmallUpload())).ToArray();
        var live = await client.GetAsync("/health/live");
        // One waits in the queue; the other three are turned away at once.
        var pending = posts.ToList();
        var rejected = new List<HttpResponseMessage>();
        while (rejected.Count < 3)
        {
            var done = await Task.WhenAny(pending).WaitAsync(TimeSpan.FromSeconds(30));
            pending.Remove(done);
            rejected.Add(await done);
        }
        Assert.False(held.IsCompleted, $"the slow request finished in {clock.ElapsedMilliseconds} ms, before the others were answered");
        await giveUp.CancelAsync();
        var queued = Assert.Single(await Task.WhenAll(pending));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        foreach (var response in rejected)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(503, (await response.JsonAsync()).GetProperty("status").GetInt32());
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => held);
    }

    /// <summary>12 megapixels that compress to a few kilobytes: uploaded at once, then slow to decode and search.</summary>
    private static byte[] LargeBlankPng()
    {
        using var bitmap = new SKBitmap(4000, 3000);
        bitmap.Erase(SKColors.SlateGray);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    [Fact]
    public async Task Post_BodyStalledPastRequestTimeout_Logged408NotServerError()
    {
        var directory = Directory.CreateTempSubdirectory("fer-logs-");
        var logFile = Path.Combine(directory.FullName, "service.log");
        using (var factory = FerApiFactory.OnKestrel([("Fer:Limits:RequestTimeout", "00:00:01"), .. FerApiFactory.FileLogging(logFile, "Information")]))
        {
            // Kestrel closes the connection (the body is incomplete); the server must not take it for its own failure.
            using var stalled = await HalfSentUpload.StartAsync(factory.CreateClient().BaseAddress!, SmallUpload());
            await stalled.WaitForCloseAsync(TimeSpan.FromSeconds(15));
            // The request is logged once the server has unwound it, which can follow the close by a moment.
            for (var attempt = 0; attempt < 100 && !Http.ReadShared(logFile).Contains("HTTP POST /api/emotions responded", StringComparison.Ordinal); attempt++)
            {
                await Task.Delay(100);
            }
        }

        var log = Http.ReadShared(logFile);
        directory.Delete(true);
        Assert.Contains("HTTP POST /api/emotions responded 408", log, StringComparison.Ordinal);
        Assert.DoesNotContain("responded 500", log, StringComparison.Ordinal);
    }

    private static MultipartFormDataContent SmallUpload() => Http.Multipart(("image", "face.png", Http.NoisyPng(64, 64, 1), "image/png"));

    [Fact]
    public async Task Post_OverRequestTimeout_Returns504Problem()
    {
        // The detector at full size: at its default input the blank image could finish inside the timeout.
        // On Kestrel: the in-memory test server reports the timeout's cancellation as a client abort.
        using var factory = FerApiFactory.OnKestrel(("Fer:Limits:RequestTimeout", "00:00:00.020"), ("Fer:Detection:MaxInputSide", "4096"));
        using var content = Http.Multipart(("image", "large.png", LargeBlankPng(), "image/png"));
        var response = await factory.CreateClient().PostAsync("/api/emotions", content);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(504, (await response.JsonAsync()).GetProperty("status").GetInt32());
    }
}
