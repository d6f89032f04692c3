using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using FerService.Tests.Shared;

namespace FerService.Api.Tests.Hosting;

/// <summary>
/// Slow, stalled, oversized and malformed transports against real Kestrel (raw sockets where HttpClient would not send
/// them): each is the client's problem, so none may lock out other clients, exhaust memory or count as a server fault.
/// </summary>
public sealed partial class TransportTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-transport-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static MultipartFormDataContent SmallUpload(int seed = 1) => Http.Multipart(("image", "face.png", Http.NoisyPng(64, 64, seed), "image/png"));

    [Fact]
    public async Task Post_WhileSlowUploadsHoldTheirBodies_OtherClientsStillServed()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Limits:MaxConcurrentRequests", "1"), ("Fer:Limits:MaxQueuedRequests", "1"));
        var client = factory.CreateClient();
        // Six uploads that never finish their bodies: more than the one running and one queued slot.
        var slow = new List<HalfSentUpload>();
        for (var i = 0; i < 6; i++)
        {
            slow.Add(await HalfSentUpload.StartAsync(client.BaseAddress!, SmallUpload(i)));
        }
        await Task.Delay(TimeSpan.FromSeconds(1));

        var served = 0;
        for (var i = 0; i < 10; i++)
        {
            using var content = SmallUpload(100 + i);
            if ((await client.PostAsync("/api/emotions?detect=false", content)).StatusCode == HttpStatusCode.OK)
            {
                served++;
            }
        }
        Assert.True(served >= 8, $"{served} of 10 served while slow uploads were receiving");

        foreach (var upload in slow)
        {
            await upload.FinishAsync();
        }
        foreach (var upload in slow)
        {
            Assert.Matches("^HTTP/1.1 (200|503)", await upload.ReadStatusLineAsync());
            upload.Dispose();
        }
    }

    [Fact]
    public async Task Post_UploadsBeyondTheMemoryBudget_Get503WithRetryAfterUntilTheBudgetIsFreed()
    {
        // Buffers double from 16 KiB. An upload of 256–512 KiB holds 256 KiB half sent, and needs 256 + 512 KiB while it grows
        // to its last size: two held halves and one whole upload come to 1.25 MiB, over a 1 MiB budget that fits either alone.
        var image = Http.NoisyPng(400, 400, 1);
        Assert.InRange(image.Length, 300 * 1024, 512 * 1024);
        using var factory = FerApiFactory.OnKestrel(("Fer:Limits:MaxBufferedUploadBytes", (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var client = factory.CreateClient();
        var held = new[]
        {
            await HalfSentUpload.StartAsync(client.BaseAddress!, Upload()),
            await HalfSentUpload.StartAsync(client.BaseAddress!, Upload()),
        };
        await Task.Delay(TimeSpan.FromSeconds(1));

        using var third = Upload();
        var refused = await client.PostAsync("/api/emotions?detect=false", third);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("1", refused.Headers.GetValues("Retry-After").Single());
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("upload memory budget", (await refused.JsonAsync()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        // The held uploads' clients give up; their buffers go back and the next upload fits.
        foreach (var upload in held)
        {
            upload.Dispose();
        }
        var status = HttpStatusCode.ServiceUnavailable;
        for (var attempt = 0; attempt < 50 && status == HttpStatusCode.ServiceUnavailable; attempt++)
        {
            await Task.Delay(100);
            using var next = Upload();
            status = (await client.PostAsync("/api/emotions?detect=false", next)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, status);

        MultipartFormDataContent Upload() => Http.Multipart(("image", "noise.png", image, "image/png"));
    }

    [Fact]
    public async Task Post_ManySmallPartsDeclaringTheMaximumBody_AllocatesWhatArrivesNotWhatIsDeclared()
    {
        // A 256 MiB GC heap: before, each such connection reserved 32 × 20 MiB and the service threw OutOfMemoryException.
        using var service = ShutdownTests.StartService(new()
        {
            ["DOTNET_GCHeapHardLimit"] = "0x10000000",
            ["Fer__Limits__MaxBufferedUploadBytes"] = (64 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        using var client = new HttpClient { BaseAddress = service.Address, Timeout = TimeSpan.FromSeconds(60) };
        Assert.Equal(HttpStatusCode.OK, (await Http.WaitReadyAsync(client)).StatusCode);
        var allocatedBefore = await AllocatedBytesAsync(client);

        var png = Http.Png(32);
        var attackers = new List<TcpClient>();
        for (var c = 0; c < 8; c++)
        {
            var socket = new TcpClient();
            await socket.ConnectAsync(service.Address.Host, service.Address.Port);
            var stream = socket.GetStream();
            var parts = new MemoryStream();
            for (var p = 0; p < 32; p++)
            {
                parts.Write(Encoding.ASCII.GetBytes($"--b\r\nContent-Disposition: form-data; name=\"images\"; filename=\"{p}.png\"\r\nContent-Type: image/png\r\n\r\n"));
                parts.Write(png);
                parts.Write("\r\n"u8);
            }
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"POST /api/emotions HTTP/1.1\r\nHost: test\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {20 * 1024 * 1024}\r\n\r\n"));
            await stream.WriteAsync(parts.ToArray());
            attackers.Add(socket);
        }
        await Task.Delay(TimeSpan.FromSeconds(2));

        using var honest = SmallUpload();
        var response = await client.PostAsync("/api/emotions?detect=false", honest);
        var allocated = await AllocatedBytesAsync(client) - allocatedBefore;
        foreach (var socket in attackers)
        {
            socket.Dispose();
        }
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(allocated < 64L * 1024 * 1024, $"{allocated / 1048576.0:F0} MiB allocated while 8 connections held 32 small parts each");
    }

    private static async Task<double> AllocatedBytesAsync(HttpClient client)
    {
        var metrics = await client.GetStringAsync("/metrics");
        var match = AllocatedMetric().Match(metrics);
        Assert.True(match.Success, "no dotnet_gc_heap_total_allocated_bytes in /metrics");
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^dotnet_gc_heap_total_allocated_bytes(?:_total)?(?:\{[^}]*\})? (\S+)", RegexOptions.Multiline)]
    private static partial Regex AllocatedMetric();

    /// <summary>Sends <paramref name="head"/> and <paramref name="body"/> over a raw socket and returns the status line.</summary>
    private static async Task<string> RawAsync(Uri address, string head, byte[] body, TimeSpan? bytePause = null)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        try
        {
            if (bytePause is { } pause)
            {
                foreach (var b in body)
                {
                    await stream.WriteAsync(new[] { b });
                    await Task.Delay(pause);
                    if (socket.Available > 0)
                    {
                        break;
                    }
                }
            }
            else
            {
                await stream.WriteAsync(body);
            }
        }
        catch (IOException)
        {
            // The server answered and closed while the body was still going.
        }
        using var reader = new StreamReader(stream, leaveOpen: true);
        return await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)) ?? "";
    }

    private static string Head(string contentType, string framing) =>
        $"POST /api/emotions HTTP/1.1\r\nHost: test\r\nContent-Type: {contentType}\r\n{framing}\r\n";

    [Theory]
    [InlineData("Transfer-Encoding: chunked\r\n", "zz\r\nnot a chunk\r\n0\r\n\r\n")]
    [InlineData("Content-Length: 40\r\nTransfer-Encoding: chunked\r\n", "--b\r\nplain bytes, no chunk framing at all\r\n")]
    public async Task Post_MalformedBodyFraming_Returns400NotServerError(string framing, string body)
    {
        using var factory = FerApiFactory.OnKestrel();
        var status = await RawAsync(factory.CreateClient().BaseAddress!, Head("multipart/form-data; boundary=b", framing), Encoding.ASCII.GetBytes(body));
        Assert.StartsWith("HTTP/1.1 400", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_BodyAtOneBytePerSecond_Returns408NotServerError()
    {
        using var factory = FerApiFactory.OnKestrel();
        // Under Kestrel's minimum body data rate (240 B/s after a 5 s grace period).
        var status = await RawAsync(factory.CreateClient().BaseAddress!, Head("multipart/form-data; boundary=b", "Content-Length: 1000\r\n"),
            new byte[20], TimeSpan.FromSeconds(1));
        Assert.StartsWith("HTTP/1.1 408", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Post_ClientsHangingUpMidUpload_NeitherLoggedAsErrorsNorCountedAs500()
    {
        var logFile = Path.Combine(_directory, "service.log");
        string metrics;
        using (var factory = FerApiFactory.OnKestrel(FerApiFactory.FileLogging(logFile, "Information")))
        {
            var client = factory.CreateClient();
            for (var i = 0; i < 5; i++)
            {
                var upload = await HalfSentUpload.StartAsync(client.BaseAddress!, SmallUpload(i));
                await Task.Delay(200);
                upload.Dispose();
            }
            // Each request is logged once the server has unwound it, which can follow the hang-up by a moment.
            for (var attempt = 0; attempt < 100 && Regex.Count(Http.ReadShared(logFile), "HTTP POST /api/emotions responded") < 5; attempt++)
            {
                await Task.Delay(100);
            }
            metrics = await client.GetStringAsync("/metrics");
        }

        var log = Http.ReadShared(logFile);
        // 499 where the server saw the hang-up first, else 400 for the body that ended early: a client's doing either way.
        Assert.Equal(5, Regex.Count(log, "HTTP POST /api/emotions responded (499|400)"));
        Assert.DoesNotContain("[ERR]", log, StringComparison.Ordinal);
        Assert.DoesNotContain("http_response_status_code=\"500\"", metrics, StringComparison.Ordinal);
    }
}
