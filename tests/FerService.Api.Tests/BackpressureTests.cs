using System.Net;
using SkiaSharp;

namespace FerService.Api.Tests;

public sealed class BackpressureTests
{
    [Fact]
    public async Task Post_MoreConcurrentRequestsThanAllowed_ExtraGet503WithRetryAfterWhileHealthAnswers()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Limits:MaxConcurrentRequests", "1"), ("Fer:Limits:MaxQueuedRequests", "1"));
        var client = factory.CreateClient();
        // The admitted request holds the one slot while its body is half sent, however fast the pipeline is.
        using var held = await HalfSentUpload.StartAsync(client.BaseAddress!, SmallUpload());
        await Task.Delay(TimeSpan.FromSeconds(1));

        var posts = Enumerable.Range(0, 4).Select(_ => client.PostAsync("/api/emotions", SmallUpload())).ToArray();
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
        await held.FinishAsync();
        var queued = Assert.Single(await Task.WhenAll(pending));

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.StartsWith("HTTP/1.1 200", await held.ReadStatusLineAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        foreach (var response in rejected)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(503, (await response.JsonAsync()).GetProperty("status").GetInt32());
        }
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
            for (var attempt = 0; attempt < 100 && !ReadShared(logFile).Contains("HTTP POST /api/emotions responded", StringComparison.Ordinal); attempt++)
            {
                await Task.Delay(100);
            }
        }

        var log = ReadShared(logFile);
        directory.Delete(true);
        Assert.Contains("HTTP POST /api/emotions responded 408", log, StringComparison.Ordinal);
        Assert.DoesNotContain("responded 500", log, StringComparison.Ordinal);
    }

    private static string ReadShared(string path)
    {
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        return reader.ReadToEnd();
    }

    private static MultipartFormDataContent SmallUpload() => Http.Multipart(("image", "face.png", Http.NoisyPng(64, 64, 1), "image/png"));

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
