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
    public async Task Post_BodyStalledPastRequestTimeout_Logged408NotServerError()
    {
        var directory = Directory.CreateTempSubdirectory("fer-logs-");
        var logFile = Path.Combine(directory.FullName, "service.log");
        var body = await Http.Multipart(("image", "face.png", Http.NoisyPng(64, 64, 1), "image/png")).ReadAsByteArrayAsync();
        using (var factory = FerApiFactory.OnKestrel(("Fer:Limits:RequestTimeout", "00:00:01"), ("Serilog:MinimumLevel:Default", "Information"),
            ("Serilog:Using:0", "Serilog.Sinks.File"), ("Serilog:WriteTo:0:Name", "File"), ("Serilog:WriteTo:0:Args:path", logFile)))
        {
            var address = factory.CreateClient().BaseAddress!;
            // A raw socket, so the body can stop half way: the headers announce the whole length, half of it is sent.
            using var socket = new System.Net.Sockets.TcpClient();
            await socket.ConnectAsync(address.Host, address.Port);
            var stream = socket.GetStream();
            var head = $"POST /api/emotions HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=\"{Boundary(body)}\"\r\nContent-Length: {body.Length}\r\n\r\n";
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(body.AsMemory(0, body.Length / 2));

            // Kestrel closes the connection (the body is incomplete); the server must not take it for its own failure.
            using var ended = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                while (await stream.ReadAsync(new byte[4096], ended.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
            }
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

    private static string Boundary(byte[] multipart)
    {
        var firstLine = System.Text.Encoding.ASCII.GetString(multipart, 0, Array.IndexOf(multipart, (byte)'\r'));
        return firstLine[2..];
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
