using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using FerService.Api.Video;
using FerService.Serving.Video;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Api.Tests.Video;

/// <summary>Needs ffmpeg and ffprobe (CI installs them), and with <c>Data</c> also FER2013; skipped with a message otherwise.</summary>
internal sealed class VideoFactAttribute : FactAttribute
{
    public VideoFactAttribute(bool data = false)
    {
        if (!new FfmpegVideo().IsAvailable)
        {
            Skip = "ffmpeg/ffprobe are missing (apt-get install ffmpeg); .ci/run installs them.";
        }
        else if (data && TestPaths.Fer2013 is null)
        {
            Skip = TestPaths.MissingDataMessage;
        }
    }
}

public sealed class VideoTests(FerApiFactory factory) : IClassFixture<FerApiFactory>, IDisposable
{
    private const int Width = TestVideos.Width, Height = TestVideos.Height;
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-video-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    /// <summary>
    /// Two PublicTest faces move through a 6-second clip; the left one changes from a happy face to a surprised one at 3 s,
    /// in place. The answer holds one track per face over the whole clip, and the left track's timeline shows the change.
    /// </summary>
    [VideoFact(data: true)]
    public async Task PostVideo_TwoMovingFacesWithAnExpressionChange_OneTrackEachAndTheChangeInTheTimeline()
    {
        var client = factory.CreateClient();
        var happy = await ConfidentFaceAsync(client, "happy");
        var surprise = await ConfidentFaceAsync(client, "surprise");
        var other = await ConfidentFaceAsync(client, "neutral");
        var video = TestVideos.Encode(_directory, "faces.mp4", seconds: 6, (frame, canvas) =>
        {
            var t = (double)frame / TestVideos.SourceFps;
            TestVideos.Draw(canvas, t < 3 ? happy : surprise, (float)(60 + 15 * t), 140, 170);
            TestVideos.Draw(canvas, other, 420, (float)(60 + 20 * t), 150);
        });

        var response = await client.PostAsync("/api/emotions/video", Upload(video));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(12, body.GetProperty("video").GetProperty("frames").GetInt32());
        var tracks = body.GetProperty("tracks").EnumerateArray().ToArray();
        Assert.Equal(2, tracks.Length);
        var left = tracks.Single(t => t.GetProperty("samples")[0].GetProperty("box").GetProperty("x").GetDouble() < Width / 2);
        var right = tracks.Single(t => t.GetProperty("samples")[0].GetProperty("box").GetProperty("x").GetDouble() >= Width / 2);
        Assert.All(tracks, t => Assert.True(t.GetProperty("samples").GetArrayLength() >= 11, "a face lost its track"));
        var labels = left.GetProperty("samples").EnumerateArray().Select(s => s.GetProperty("dominantEmotion").GetString()).ToArray();
        Assert.All(labels[..5], label => Assert.Equal("happy", label));
        Assert.All(labels[^3..], label => Assert.Equal("surprise", label));
        Assert.True(left.GetProperty("dominantShare").GetProperty("happy").GetDouble() >= 0.4);
        Assert.True(right.GetProperty("dominantShare").GetProperty("neutral").GetDouble() >= 0.5);
    }

    [VideoFact]
    public async Task PostVideo_AcceptNdjson_StreamsOneLinePerFrameThenTheResult()
    {
        var video = TestVideos.Encode(_directory, "blank.webm", seconds: 2, (_, _) => { }, codec: "libvpx");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/emotions/video?fps=2") { Content = Upload(video, "video/webm") };
        request.Headers.Accept.ParseAdd("application/x-ndjson");

        var response = await factory.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Assert.Equal(["frame", "frame", "frame", "frame", "result"], lines.Select(l => l.GetProperty("type").GetString()));
        Assert.Equal("matroska/webm", lines[^1].GetProperty("result").GetProperty("video").GetProperty("container").GetString());
        Assert.Equal(4, lines[^1].GetProperty("result").GetProperty("video").GetProperty("frames").GetInt32());
        Assert.Equal(4, lines[^1].GetProperty("result").GetProperty("video").GetProperty("framesExpected").GetInt32());
        Assert.True(lines[^1].GetProperty("result").GetProperty("video").GetProperty("complete").GetBoolean());
    }

    /// <summary>
    /// A client that leaves mid-video stops the work: the ffmpeg decoding its upload is gone soon after, and so is the
    /// temporary file (a minute of video at 10 fps could not have finished in that time).
    /// </summary>
    [VideoFact]
    public async Task PostVideo_ClientDisconnects_FfmpegStopsAndTheUploadIsDeleted()
    {
        var video = TestVideos.Minute(_directory);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/emotions/video?fps=10") { Content = Upload(video) };
        request.Headers.Accept.ParseAdd("application/x-ndjson");
        using var leave = new CancellationTokenSource();
        var response = await factory.CreateClient().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
        var reader = new StreamReader(await response.Content.ReadAsStreamAsync(leave.Token));
        Assert.StartsWith("{\"type\":\"frame\"", await reader.ReadLineAsync(leave.Token), StringComparison.Ordinal);
        var decoders = ServiceDecoders();
        Assert.NotEmpty(decoders);

        // The client goes away: its token cancelled, the response and its stream dropped.
        await leave.CancelAsync();
        reader.Dispose();
        response.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((decoders.Exists(IsRunning) || decoders.Exists(d => File.Exists(d.Upload))) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.DoesNotContain(decoders, IsRunning);
        Assert.DoesNotContain(decoders, d => File.Exists(d.Upload));
    }

    /// <summary>
    /// The temporary folder fills up under a 30 MiB upload (a 20 MiB tmpfs where this test may mount one, else a file that
    /// throws the platform's "no space left" at 20 MiB): the server's fault, told as 503 with Retry-After (it was 400
    /// "the multipart body ended"), one warning naming the request id, and the partial file removed.
    /// </summary>
    [VideoFact]
    public async Task PostVideo_TemporaryFolderFillsUp_Returns503WithRetryAfterOneWarningAndNoFileLeft()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_directory, "small-tmp")).FullName;
        var logFile = Path.Combine(_directory, "service.log");
        var mounted = TryRun("mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", folder);
        try
        {
            HttpResponseMessage response;
            using (var factory = new FerApiFactory([("Fer:Video:TempDirectory", folder), .. FerApiFactory.FileLogging(logFile, "Information")])
                .WithWebHostBuilder(host => host.ConfigureTestServices(services =>
                {
                    if (!mounted)
                    {
                        services.AddSingleton<VideoFiles>(sp => new FillingVideoFiles(sp.GetRequiredService<IOptions<VideoOptions>>(), 20 << 20));
                    }
                })))
            {
                factory.UseKestrel(0);
                factory.StartServer();
                var video = new byte[30 << 20];
                new Random(39).NextBytes(video);
                response = await factory.CreateClient().PostAsync("/api/emotions/video", Upload(video));
                Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(VideoUpload.FullDiskRetrySeconds), response.Headers.RetryAfter?.Delta);
            await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "no space left");
            var requestId = response.Headers.GetValues("X-Request-Id").Single();
            var warnings = Http.ReadShared(logFile).Split('\n').Where(line => line.Contains("[WRN]", StringComparison.Ordinal)).ToArray();
            Assert.Contains(requestId, Assert.Single(warnings), StringComparison.Ordinal);
        }
        finally
        {
            if (mounted)
            {
                TryRun("umount", folder);
            }
        }
    }

    private static bool TryRun(string program, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        try
        {
            using var process = System.Diagnostics.Process.Start(start)!;
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>Where no tmpfs can be mounted: upload files that throw the platform's "no space left on device" past a capacity.</summary>
    private sealed class FillingVideoFiles(IOptions<VideoOptions> options, long capacity) : VideoFiles(options)
    {
        public override FileStream Create() => new FillingFile(Path.Combine(Directory, $"fer-video-{Guid.NewGuid():N}"), capacity);
    }

    private sealed class FillingFile(string path, long capacity)
        : FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous)
    {
        private const int Enospc = 28;

        // FileStream hands a derived type's memory writes to its array overload, so both check and each calls its own base.
        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Fill(buffer.Length);
            return base.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Fill(count);
            return base.WriteAsync(buffer, offset, count, cancellationToken);
        }

        private void Fill(int count)
        {
            if (Position + count > capacity)
            {
                throw new IOException("No space left on device", Enospc);
            }
        }
    }

    /// <summary>
    /// The decoder is killed (SIGKILL, as the out-of-memory killer does) while it works through a minute of video: the
    /// answer is 502 problem+json naming the signal, never a 200 covering the frames decoded before (it was 200 with those).
    /// </summary>
    [VideoFact]
    public async Task PostVideo_DecoderKilledMidRun_Returns502NotAPartial200()
    {
        var video = TestVideos.Minute(_directory);
        var posting = factory.CreateClient().PostAsync("/api/emotions/video?fps=10", Upload(video));
        var decoder = await OwnDecoderAsync(posting);
        await Task.Delay(500);
        Assert.True(TryRun("kill", "-KILL", decoder.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the decoder had ended before the kill");

        await AssertProblemAsync(await posting, HttpStatusCode.BadGateway, "killed by signal 9");
    }

    /// <summary>
    /// The ffmpeg this test host started for <paramref name="posting"/> (only this process's children: other test runs on the
    /// machine may be decoding too), once it runs.
    /// </summary>
    private static async Task<int> OwnDecoderAsync(Task posting)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        List<(int Pid, string Upload)> decoders;
        while ((decoders = ServiceDecoders().FindAll(d => ParentOf(d.Pid) == Environment.ProcessId)).Count == 0 && !posting.IsCompleted
            && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        return Assert.Single(decoders).Pid;
    }

    /// <summary>
    /// A decoder runs under the address-space ceiling (768 MiB by default), set on it from outside without a shell or the
    /// prlimit program, so it holds in the chiseled image too.
    /// </summary>
    [VideoFact]
    public async Task PostVideo_WhileDecoding_DecoderHasTheAddressSpaceCeiling()
    {
        var video = TestVideos.Minute(_directory);
        using var leave = new CancellationTokenSource();
        var posting = factory.CreateClient().PostAsync("/api/emotions/video?fps=10", Upload(video), leave.Token);
        var decoder = await OwnDecoderAsync(posting);
        var limits = File.ReadAllLines($"/proc/{decoder}/limits");
        await leave.CancelAsync();

        var addressSpace = Assert.Single(limits, line => line.StartsWith("Max address space", StringComparison.Ordinal));
        Assert.Equal(["805306368", "805306368", "bytes"], addressSpace["Max address space".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => posting);
    }

    [VideoFact]
    public async Task PostVideo_FramesOverMaxPixels_Returns413WithTheNumbers()
    {
        using var small = new FerApiFactory(("Fer:Video:MaxPixelsPerFrame", "307199"));
        var video = TestVideos.Encode(_directory, "vga.mp4", seconds: 1, (_, _) => { });
        var response = await small.CreateClient().PostAsync("/api/emotions/video", Upload(video));
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "640×480 = 307,200 pixels; at most 307,199 are decoded");
    }

    /// <summary>One decoder and a queue of one: the first video decodes, the second waits, the third gets 503 with Retry-After.</summary>
    [VideoFact]
    public async Task PostVideo_DecodersBusyAndQueueFull_Returns503WithRetryAfter()
    {
        using var one = new FerApiFactory(("Fer:Video:MaxConcurrentDecoders", "1"), ("Fer:Video:MaxQueuedVideos", "1"));
        var client = one.CreateClient();
        var video = TestVideos.Minute(_directory);
        using var leave = new CancellationTokenSource();
        var decoding = client.PostAsync("/api/emotions/video?fps=10", Upload(video), leave.Token);
        await OwnDecoderAsync(decoding);
        var waiting = client.PostAsync("/api/emotions/video?fps=10", Upload(video), leave.Token);
        await Task.Delay(1000);

        var refused = await client.PostAsync("/api/emotions/video?fps=10", Upload(video));
        Assert.False(waiting.IsCompleted, "the second video was not queued");
        await leave.CancelAsync();

        Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
        await AssertProblemAsync(refused, HttpStatusCode.ServiceUnavailable, "decoders are busy (1 at once) and the queue is full (1 waiting)");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.WhenAll(decoding, waiting));
    }

    private static int ParentOf(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (name) state ppid ...", the name possibly holding spaces and parentheses.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    /// <summary>
    /// A Matroska file cut in half still plays, and still states its whole duration: 200, but the answer says the file
    /// ended early (8 frames expected at 2 fps in 4 s, fewer analysed, complete false); it said nothing of it before.
    /// </summary>
    [VideoFact]
    public async Task PostVideo_TruncatedButPlayable_Returns200SayingItIsIncomplete()
    {
        var whole = Path.Combine(_directory, "whole.mkv");
        TestVideos.Run("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=10:duration=4", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", whole);
        var bytes = File.ReadAllBytes(whole);

        var response = await factory.CreateClient().PostAsync("/api/emotions/video?fps=2", Upload(bytes[..(bytes.Length / 2)], "video/x-matroska"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var summary = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("video");
        Assert.Equal(8, summary.GetProperty("framesExpected").GetInt32());
        Assert.InRange(summary.GetProperty("frames").GetInt32(), 1, 6);
        Assert.False(summary.GetProperty("complete").GetBoolean());
    }

    /// <summary>ffmpeg processes reading a service upload (its temporary files are named fer-video-&lt;32 hex digits&gt;).</summary>
    private static List<(int Pid, string Upload)> ServiceDecoders()
    {
        var found = new List<(int, string)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }
            try
            {
                var arguments = File.ReadAllText(Path.Combine(directory, "cmdline")).Split('\0');
                var upload = Array.Find(arguments, a => System.Text.RegularExpressions.Regex.IsMatch(a, "/fer-video-[0-9a-f]{32}$"));
                if (arguments[0].EndsWith("ffmpeg", StringComparison.Ordinal) && upload is not null)
                {
                    found.Add((pid, upload));
                }
            }
            catch (IOException)
            {
                // The process ended while being read.
            }
        }
        return found;
    }

    private static bool IsRunning((int Pid, string Upload) decoder) =>
        File.Exists($"/proc/{decoder.Pid}/cmdline") && File.ReadAllText($"/proc/{decoder.Pid}/cmdline").Contains(decoder.Upload, StringComparison.Ordinal);

    [VideoFact]
    public async Task PostVideo_NotAVideo_Returns415()
    {
        var response = await factory.CreateClient().PostAsync("/api/emotions/video", Upload(Http.Png(64), "video/mp4"));
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, "Not a video");
    }

    [VideoFact]
    public async Task PostVideo_Truncated_Returns422()
    {
        var video = File.ReadAllBytes(TestVideos.Encode(_directory, "whole.mp4", seconds: 2, (_, _) => { }));
        var response = await factory.CreateClient().PostAsync("/api/emotions/video", Upload(video[..(video.Length / 3)]));
        await AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity, "mp4");
    }

    [VideoFact]
    public async Task PostVideo_LongerThanMaxDuration_Returns413()
    {
        using var shortLimit = new FerApiFactory(("Fer:Video:MaxDuration", "00:00:02"));
        var video = TestVideos.Encode(_directory, "long.mp4", seconds: 3, (_, _) => { });
        var response = await shortLimit.CreateClient().PostAsync("/api/emotions/video", Upload(video));
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "at most 2 s");
    }

    [VideoFact]
    public async Task PostVideo_MultipartWithoutClosingBoundary_Returns400()
    {
        using var content = Http.MultipartWithoutClosingBoundary("video", "a.mp4", "video/mp4");
        var response = await factory.CreateClient().PostAsync("/api/emotions/video", content);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, "closing boundary");
    }

    [VideoFact]
    public async Task PostVideo_LargerThanMaxBytes_Returns413()
    {
        using var smallLimit = new FerApiFactory(("Fer:Video:MaxBytes", "1024"));
        var video = File.ReadAllBytes(TestVideos.Encode(_directory, "big.mp4", seconds: 2, (frame, canvas) =>
            canvas.DrawCircle(100 + 20 * frame, 200, 60, new SKPaint { Color = SKColors.White })));
        Assert.True(video.Length > 1024, $"the clip is only {video.Length} bytes");
        var response = await smallLimit.CreateClient().PostAsync("/api/emotions/video", Upload(video));
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "larger than 1,024 bytes");
    }

    [VideoFact]
    public async Task PostVideo_AnalysisPastTheTimeout_Returns504()
    {
        using var shortTimeout = new FerApiFactory(("Fer:Video:Timeout", "00:00:01"));
        var video = TestVideos.Minute(_directory);
        var response = await shortTimeout.CreateClient().PostAsync("/api/emotions/video?fps=10", Upload(video));
        await AssertProblemAsync(response, HttpStatusCode.GatewayTimeout, "not analysed within 1 s");
    }

    [Fact]
    public async Task PostVideo_NoFfmpeg_Returns503AndReadinessSaysVideoIsUnavailable()
    {
        using var without = new FerApiFactory(("Fer:Video:FfmpegPath", "/nonexistent/ffmpeg"));
        var client = without.CreateClient();
        var response = await client.PostAsync("/api/emotions/video", Upload(Http.Png(64)));
        await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable, "apt-get install ffmpeg");
        // Read whether or not the warm-up has finished yet (503 before it): the data says video either way.
        var ready = await (await client.GetAsync("/health/ready")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(ready.GetProperty("checks").GetProperty("models").GetProperty("data").GetProperty("video").GetBoolean());
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string detail)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(detail, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    private static MultipartFormDataContent Upload(string path, string contentType = "video/mp4") => Upload(File.ReadAllBytes(path), contentType);

    private static MultipartFormDataContent Upload(byte[] bytes, string contentType = "video/mp4") =>
        Http.Multipart(("video", "clip", bytes, contentType));

    /// <summary>A PublicTest face the service labels <paramref name="label"/> at ≥ 0.8 when shown alone at 170 px.</summary>
    private static async Task<SKBitmap> ConfidentFaceAsync(HttpClient client, string label)
    {
        var rows = PublicTest.Rows;
        var wanted = Array.IndexOf(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"], label);
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows.Labels[i] != wanted)
            {
                continue;
            }
            var face = TestVideos.Face(rows, i);
            using var scene = new SKBitmap(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul);
            using (var canvas = new SKCanvas(scene))
            {
                canvas.Clear(SKColors.Gray);
                TestVideos.Draw(canvas, face, 200, 150, 170);
            }
            using var png = scene.Encode(SKEncodedImageFormat.Png, 100);
            var answer = await client.PostAsync("/api/emotions", Http.Multipart(("image", "scene.png", png.ToArray(), "image/png")));
            var faces = (await answer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("images")[0].GetProperty("faces");
            if (faces.GetArrayLength() == 1 && faces[0].GetProperty("dominantEmotion").GetString() == label
                && faces[0].GetProperty("emotions").GetProperty(label).GetDouble() >= 0.8)
            {
                return face;
            }
            face.Dispose();
        }
        throw new InvalidOperationException($"No PublicTest face is labelled {label} with confidence.");
    }
}
