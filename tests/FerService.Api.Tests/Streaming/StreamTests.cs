using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Api.Tests.Streaming;

/// <summary>The video WebSocket over a real Kestrel connection.</summary>
public sealed class StreamTests
{
    /// <summary>One PublicTest face moving 12 px right per frame over a fixed noisy background.</summary>
    private static byte[] Frame(ReadOnlySpan<byte> face, int step)
    {
        using var bitmap = new SKBitmap(480, 360);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(90, 110, 140));
            using var paint = new SKPaint { Color = new SKColor(200, 170, 120) };
            canvas.DrawRect(300, 40, 120, 200, paint);
            var grey = new SKBitmap(new SKImageInfo(48, 48, SKColorType.Gray8, SKAlphaType.Opaque));
            System.Runtime.InteropServices.Marshal.Copy(face.ToArray(), 0, grey.GetPixels(), 48 * 48);
            using var image = SKImage.FromBitmap(grey);
            canvas.DrawImage(image, SKRect.Create(60 + 12 * step, 100, 160, 160), new SKSamplingOptions(SKCubicResampler.Mitchell));
            grey.Dispose();
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    private static async Task<JsonElement> ExchangeAsync(ClientWebSocket socket, byte[] frame)
    {
        await socket.SendAsync(frame, WebSocketMessageType.Binary, true, CancellationToken.None);
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        WebSocketReceiveResult received;
        do
        {
            received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            message.Write(buffer, 0, received.Count);
        }
        while (!received.EndOfMessage);
        Assert.Equal(WebSocketMessageType.Text, received.MessageType);
        return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
    }

    private static Uri StreamUri(FerApiFactory factory)
    {
        var http = factory.CreateClient().BaseAddress!;
        return new Uri($"ws://{http.Authority}/api/emotions/stream");
    }

    [Fer2013Fact]
    public async Task Stream_MovingFace_KeepsOneTrackAndSurvivesABadFrame()
    {
        using var factory = FerApiFactory.OnKestrel();
        await AssertMovingFaceTrackedAsync(factory);
    }

    [Fer2013Fact]
    public async Task Stream_WithTheServicesFullDetectorInput_TracksTheMovingFaceToo()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Stream:DetectorMaxInputSide", "0"));
        await AssertMovingFaceTrackedAsync(factory);
    }

    private static async Task AssertMovingFaceTrackedAsync(FerApiFactory factory)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(StreamUri(factory), CancellationToken.None);
        var face = PublicTest.Rows.Image(PublicTest.Rows.Count / 2).ToArray();

        var tracks = new HashSet<int>();
        for (var step = 0; step < 8; step++)
        {
            var result = await ExchangeAsync(socket, Frame(face, step));
            Assert.Equal(step + 1, result.GetProperty("frame").GetInt64());
            var found = result.GetProperty("faces");
            Assert.Equal(1, found.GetArrayLength());
            tracks.Add(found[0].GetProperty("track").GetInt32());
            Assert.Equal(1.0, found[0].GetProperty("emotions").EnumerateObject().Sum(p => p.Value.GetDouble()), 2);
        }
        Assert.Single(tracks);

        var bad = await ExchangeAsync(socket, Encoding.UTF8.GetBytes("this is not a frame"));
        Assert.Contains("not a supported image format", bad.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(WebSocketState.Open, socket.State);
        var after = await ExchangeAsync(socket, Frame(face, 8));
        Assert.Equal(1, after.GetProperty("faces").GetArrayLength());
        Assert.Equal(tracks.Single(), after.GetProperty("faces")[0].GetProperty("track").GetInt32());

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    private static async Task<(string Label, double Confidence)> DominantAsync(FerApiFactory factory, byte[] frame)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(StreamUri(factory), CancellationToken.None);
        var faces = (await ExchangeAsync(socket, frame)).GetProperty("faces");
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        if (faces.GetArrayLength() != 1)
        {
            return ("none", 0);
        }
        var label = faces[0].GetProperty("dominantEmotion").GetString()!;
        return (label, faces[0].GetProperty("emotions").GetProperty(label).GetDouble());
    }

    private static async Task<List<string>> LabelsAsync(FerApiFactory factory, IEnumerable<byte[]> frames)
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(StreamUri(factory), CancellationToken.None);
        var labels = new List<string>();
        foreach (var frame in frames)
        {
            var faces = (await ExchangeAsync(socket, frame)).GetProperty("faces");
            labels.Add(faces.GetArrayLength() == 1 ? faces[0].GetProperty("dominantEmotion").GetString()! : "none");
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        return labels;
    }

    private static int Flips(List<string> labels) => labels.Zip(labels.Skip(1)).Count(pair => pair.First != pair.Second);

    [Fer2013Fact]
    public async Task Stream_FaceWhoseExpressionFlickers_SmoothingFlipsLessThanRawFrames()
    {
        using var raw = FerApiFactory.OnKestrel(("Fer:Stream:Smoothing", "0"));
        using var smoothed = FerApiFactory.OnKestrel();
        var split = PublicTest.Rows;
        // Two faces the model reads differently, shown in the same place: A, A, B, A, A, B, … as if one face flickered.
        // A is read confidently (≥ 0.8), as a steady face is; smoothing exists so that one odd frame does not flip it.
        byte[]? a = null, b = null;
        string? labelA = null;
        for (var row = 0; row < split.Count && b is null; row += 37)
        {
            var frame = Frame(split.Image(row), 0);
            var (label, confidence) = await DominantAsync(raw, frame);
            if (label == "none")
            {
                continue;
            }
            if (a is null && confidence >= 0.8)
            {
                (a, labelA) = (frame, label);
            }
            else if (a is not null && label != labelA)
            {
                b = frame;
            }
        }
        Assert.NotNull(b);
        var frames = Enumerable.Range(0, 12).Select(i => i % 3 == 2 ? b! : a!).ToArray();

        var rawLabels = await LabelsAsync(raw, frames);
        var smoothedLabels = await LabelsAsync(smoothed, frames);

        Assert.True(Flips(rawLabels) >= 6, string.Join(",", rawLabels));
        Assert.True(Flips(smoothedLabels) < Flips(rawLabels), $"raw {string.Join(",", rawLabels)} vs smoothed {string.Join(",", smoothedLabels)}");
    }

    [Fact]
    public async Task Stream_OversizedFrame_GetsAnErrorMessageNotAClosedSocket()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Stream:MaxFrameBytes", "4096"));
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(StreamUri(factory), CancellationToken.None);
        var result = await ExchangeAsync(socket, new byte[50_000]);
        Assert.Contains("larger than", result.GetProperty("error").GetString(), StringComparison.Ordinal);
        var next = await ExchangeAsync(socket, Http.Png(64));
        Assert.Equal(0, next.GetProperty("faces").GetArrayLength());
    }

    [Fact]
    public async Task Stream_IdleConnection_ClosedByTheServer()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Stream:IdleTimeout", "00:00:01"));
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(StreamUri(factory), CancellationToken.None);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = await socket.ReceiveAsync(new byte[1024], wait.Token);
        Assert.Equal(WebSocketMessageType.Close, received.MessageType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
        Assert.Equal("idle", socket.CloseStatusDescription);
    }

    [Fact]
    public async Task Stream_MessageStalledMidFragment_ClosedAndItsSlotFreed()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Stream:IdleTimeout", "00:00:01"), ("Fer:Stream:MaxConnections", "1"));
        using var stalled = new ClientWebSocket();
        await stalled.ConnectAsync(StreamUri(factory), CancellationToken.None);
        // The first 10 bytes of a frame whose end never comes.
        await stalled.SendAsync(new byte[10], WebSocketMessageType.Binary, false, CancellationToken.None);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = await stalled.ReceiveAsync(new byte[1024], wait.Token);
        Assert.Equal(WebSocketMessageType.Close, received.MessageType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, stalled.CloseStatus);

        // The one slot is free again for the next client, though the stalled one never answers the close.
        var next = new ClientWebSocket();
        for (var attempt = 0; attempt < 40; attempt++)
        {
            try
            {
                await next.ConnectAsync(StreamUri(factory), wait.Token);
                break;
            }
            catch (WebSocketException)
            {
                next.Dispose();
                next = new ClientWebSocket();
                await Task.Delay(250);
            }
        }
        using var open = next;
        Assert.Equal(0, (await ExchangeAsync(next, Http.Png(64))).GetProperty("faces").GetArrayLength());
    }

    [Fact]
    public async Task Stream_OverConnectionLimit_Refused()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Stream:MaxConnections", "1"));
        using var first = new ClientWebSocket();
        await first.ConnectAsync(StreamUri(factory), CancellationToken.None);
        using var second = new ClientWebSocket();
        second.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => second.ConnectAsync(StreamUri(factory), CancellationToken.None));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.HttpStatusCode);
        await first.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    /// <summary>The upgrade's HTTP status with Origin (and X-Forwarded-Proto) set as given; an accepted stream is closed.</summary>
    private static async Task<HttpStatusCode> OpenFromAsync(FerApiFactory factory, string? origin, string? forwardedProto = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }
        if (forwardedProto is not null)
        {
            socket.Options.SetRequestHeader("X-Forwarded-Proto", forwardedProto);
        }
        try
        {
            await socket.ConnectAsync(StreamUri(factory), CancellationToken.None);
        }
        catch (WebSocketException)
        {
            return socket.HttpStatusCode;
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        return socket.HttpStatusCode;
    }

    [Fact]
    public async Task Stream_OriginsOfBrowsersAndOtherClients_OnlyOwnAndAllowedOnesAccepted()
    {
        const string App = "https://app.example.org";
        using var factory = FerApiFactory.OnKestrel(("Fer:Cors:AllowedOrigins:0", App));
        var own = $"http://{StreamUri(factory).Authority}";

        Assert.Equal(HttpStatusCode.SwitchingProtocols, await OpenFromAsync(factory, null));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await OpenFromAsync(factory, own));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await OpenFromAsync(factory, App));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await OpenFromAsync(factory, "HTTPS://APP.example.org:443"));
    }

    [Theory]
    [InlineData("https://evil.example.net")]
    [InlineData("https://app.example.org:8443")]
    [InlineData("http://app.example.org")]
    [InlineData("null")]
    public async Task Stream_ForeignOrigin_RefusedWithAProblemBeforeTheUpgrade(string origin)
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Cors:AllowedOrigins:0", "https://app.example.org"));

        Assert.Equal(HttpStatusCode.Forbidden, await OpenFromAsync(factory, origin));
        // The same handshake over plain HTTP, to read the answer's body (a WebSocket client keeps it).
        using var handshake = new HttpRequestMessage(HttpMethod.Get, "/api/emotions/stream");
        handshake.Headers.Connection.Add("Upgrade");
        handshake.Headers.Upgrade.Add(new System.Net.Http.Headers.ProductHeaderValue("websocket"));
        handshake.Headers.Add("Sec-WebSocket-Version", "13");
        handshake.Headers.Add("Sec-WebSocket-Key", Convert.ToBase64String(new byte[16]));
        handshake.Headers.Add("Origin", origin);
        var answer = await factory.CreateClient().SendAsync(handshake);
        Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        Assert.Equal("application/problem+json", answer.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Origin not allowed", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stream_ForeignOriginWithoutCorsSettings_RefusedButOwnOriginAccepted()
    {
        using var factory = FerApiFactory.OnKestrel();

        Assert.Equal(HttpStatusCode.Forbidden, await OpenFromAsync(factory, "https://evil.example.net"));
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await OpenFromAsync(factory, $"http://{StreamUri(factory).Authority}"));
    }

    /// <summary>Behind a TLS-terminating proxy the page's origin is https: the trusted proxy's X-Forwarded-Proto says so.</summary>
    [Fact]
    public async Task Stream_OwnHttpsOriginBehindATrustedProxy_AcceptedAndPlainHttpRefused()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Proxy:TrustedNetworks:0", "127.0.0.1/32"));
        var authority = StreamUri(factory).Authority;

        Assert.Equal(HttpStatusCode.SwitchingProtocols, await OpenFromAsync(factory, $"https://{authority}", "https"));
        Assert.Equal(HttpStatusCode.Forbidden, await OpenFromAsync(factory, $"http://{authority}", "https"));
    }

    [Fact]
    public async Task Get_StreamsRefusedWhenFull_LoggedAsOneWarningNotAnErrorEach()
    {
        var directory = Directory.CreateTempSubdirectory("fer-logs-");
        var logFile = Path.Combine(directory.FullName, "service.log");
        using (var factory = FerApiFactory.OnKestrel([("Fer:Stream:MaxConnections", "1"), .. FerApiFactory.FileLogging(logFile, "Information")]))
        {
            var uri = new Uri($"ws://{factory.CreateClient().BaseAddress!.Authority}/api/emotions/stream");
            using var open = new ClientWebSocket();
            await open.ConnectAsync(uri, CancellationToken.None);
            for (var i = 0; i < 5; i++)
            {
                using var refused = new ClientWebSocket();
                refused.Options.CollectHttpResponseDetails = true;
                await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(uri, CancellationToken.None));
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.HttpStatusCode);
            }
            for (var attempt = 0; attempt < 50 && Regex.Count(Http.ReadShared(logFile), "responded 503") < 5; attempt++)
            {
                await Task.Delay(100);
            }
        }

        var log = Http.ReadShared(logFile);
        directory.Delete(true);
        Assert.DoesNotContain("[ERR]", log, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(log, @"\[WRN\] Shedding load"));
    }

    [Fact]
    public async Task Stream_PlainHttpGet_Returns400Problem()
    {
        using var factory = new FerApiFactory();
        var response = await factory.CreateClient().GetAsync("/api/emotions/stream");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
