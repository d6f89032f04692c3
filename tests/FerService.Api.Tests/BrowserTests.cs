using FerService.Tests.Shared;
using Microsoft.Playwright;

namespace FerService.Api.Tests;

/// <summary>Needs Debian's chromium and FER2013 (CI has both); skipped with a message where one is absent.</summary>
internal sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    /// <param name="video">The test also needs ffmpeg and ffprobe.</param>
    public BrowserFactAttribute(bool video = false)
    {
        if (video && !new FerService.Serving.Video.FfmpegVideo().IsAvailable)
        {
            Skip = "ffmpeg/ffprobe are missing (apt-get install ffmpeg); .ci/run installs them.";
        }
        else if (!File.Exists(Chromium))
        {
            Skip = $"{Chromium} is missing (apt-get install chromium); .ci/run installs it.";
        }
        else if (TestPaths.Fer2013 is null)
        {
            Skip = TestPaths.MissingDataMessage;
        }
    }
}

/// <summary>The browser page in a real headless Chromium against the service on real Kestrel.</summary>
public sealed class BrowserTests
{
    private static readonly string Screenshots = Path.Combine(TestPaths.RepositoryRoot, "artifacts", "screenshots");

    /// <summary>Debian's chromium, headless, with extra command-line switches.</summary>
    private static Task<IBrowser> LaunchAsync(IPlaywright playwright, params string[] switches) =>
        playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = BrowserFactAttribute.Chromium,
            Headless = true,
            Args = ["--no-sandbox", .. switches],
        });

    /// <summary>Picks a scene of three PublicTest faces in the page and waits for their results.</summary>
    private static async Task UploadsThreeFacesAsync(IPage page, Scene scene)
    {
        await page.SetInputFilesAsync("#files", new FilePayload { Name = "scene.png", MimeType = "image/png", Buffer = scene.Encoded });
        await page.WaitForSelectorAsync(".result .face", new() { Timeout = 30_000 });
        Assert.Equal("scene.png: 3 face(s)", await page.TextContentAsync(".result figcaption"));
        Assert.Equal(3, await page.Locator(".result .face").CountAsync());
    }

    [BrowserFact]
    public async Task Page_UploadSceneWithFaces_DrawsBoxesLabelsAndProbabilityBars()
    {
        using var factory = FerApiFactory.OnKestrel();
        var address = factory.CreateClient().BaseAddress!;
        var scene = SceneBuilder.Build(PublicTest.Rows, [10, 200, 3000], new Random(6));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        var failedRequests = new List<string>();
        page.RequestFailed += (_, request) => failedRequests.Add(request.Url);
        await page.GotoAsync(address.ToString());
        Assert.Equal("FerService — facial expression recognition", await page.TitleAsync());

        await UploadsThreeFacesAsync(page, scene);
        Assert.Equal(21, await page.Locator(".result .face .bar").CountAsync());
        Assert.Equal(3, await page.Locator(".result .face .bar.dominant").CountAsync());
        // The overlay canvas has the image's size and something drawn on it.
        var drawn = await page.EvaluateAsync<int>(
            "() => { const c = document.querySelector('.result canvas'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }");
        Assert.True(drawn > 1000, $"{drawn} pixels drawn on the overlay");
        Assert.Equal(scene.Width, await page.EvaluateAsync<int>("() => document.querySelector('.result canvas').width"));
        Assert.Empty(failedRequests);

        Directory.CreateDirectory(Screenshots);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "upload.png"), FullPage = true });
    }

    /// <summary>A Y4M video (4:2:0, full-range BT.601) of one PublicTest face drifting right: Chromium's fake camera plays it in a loop.</summary>
    private static string WriteFakeCamera(string path)
    {
        const int width = 480, height = 360, frames = 6;
        var face = PublicTest.Rows.Image(PublicTest.Rows.Count / 2).ToArray();
        using var output = File.Create(path);
        output.Write(System.Text.Encoding.ASCII.GetBytes($"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n"));
        var y = new byte[width * height];
        var u = new byte[width * height / 4];
        var v = new byte[width * height / 4];
        for (var frame = 0; frame < frames; frame++)
        {
            using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(width, height, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Premul));
            using (var canvas = new SkiaSharp.SKCanvas(bitmap))
            using (var grey = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(48, 48, SkiaSharp.SKColorType.Gray8, SkiaSharp.SKAlphaType.Opaque)))
            {
                canvas.Clear(new SkiaSharp.SKColor(90, 110, 140));
                System.Runtime.InteropServices.Marshal.Copy(face, 0, grey.GetPixels(), face.Length);
                using var image = SkiaSharp.SKImage.FromBitmap(grey);
                canvas.DrawImage(image, SkiaSharp.SKRect.Create(80 + 10 * frame, 90, 170, 170), new SkiaSharp.SKSamplingOptions(SkiaSharp.SKCubicResampler.Mitchell));
            }
            var rgba = bitmap.GetPixelSpan();
            for (var row = 0; row < height; row++)
            {
                for (var col = 0; col < width; col++)
                {
                    var p = (row * width + col) * 4;
                    float r = rgba[p], g = rgba[p + 1], b = rgba[p + 2];
                    y[row * width + col] = (byte)Math.Clamp(0.299f * r + 0.587f * g + 0.114f * b, 0, 255);
                    if (row % 2 == 0 && col % 2 == 0)
                    {
                        var c = row / 2 * (width / 2) + col / 2;
                        u[c] = (byte)Math.Clamp(128 - 0.168736f * r - 0.331264f * g + 0.5f * b, 0, 255);
                        v[c] = (byte)Math.Clamp(128 + 0.5f * r - 0.418688f * g - 0.081312f * b, 0, 255);
                    }
                }
            }
            output.Write("FRAME\n"u8);
            output.Write(y);
            output.Write(u);
            output.Write(v);
        }
        return path;
    }

    /// <summary>Chromium switches that make <paramref name="video"/> (Y4M) the camera, allowed without asking.</summary>
    private static string[] FakeCamera(string video) =>
        ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", $"--use-file-for-fake-video-capture={video}"];

    /// <summary>A page whose camera the service's origin may use.</summary>
    private static async Task<IPage> CameraPageAsync(IBrowser browser, Uri address)
    {
        var context = await browser.NewContextAsync();
        await context.GrantPermissionsAsync(["camera"], new() { Origin = address.GetLeftPart(UriPartial.Authority) });
        return await context.NewPageAsync();
    }

    /// <summary>Starts the webcam and waits until several frames are answered, each naming the face by its track and a label.</summary>
    private static async Task ShowsLiveLabelsAsync(IPage page)
    {
        await page.ClickAsync("#camera");
        await page.WaitForFunctionAsync(
            "() => /frame ([3-9]|\\d\\d+): #1 (angry|disgust|fear|happy|sad|surprise|neutral)/.test(document.getElementById('live-status').textContent)",
            null, new() { Timeout = 60_000 });
        var drawn = await page.EvaluateAsync<int>(
            "() => { const c = document.getElementById('overlay'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }");
        Assert.True(drawn > 500, $"{drawn} pixels drawn on the live overlay");
    }

    [BrowserFact]
    public async Task Page_WebcamWithAFaceOnTheFakeCamera_ShowsLiveTrackedLabels()
    {
        using var factory = FerApiFactory.OnKestrel();
        var address = factory.CreateClient().BaseAddress!;
        var video = WriteFakeCamera(Path.Combine(Path.GetTempPath(), $"fer-fake-camera-{Guid.NewGuid():N}.y4m"));
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await LaunchAsync(playwright, FakeCamera(video));
            var page = await CameraPageAsync(browser, address);
            await page.GotoAsync(address.ToString());
            await ShowsLiveLabelsAsync(page);
            Directory.CreateDirectory(Screenshots);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "webcam.png"), FullPage = true });
            await page.ClickAsync("#camera");
        }
        finally
        {
            File.Delete(video);
        }
    }

    /// <summary>A 4-s WebM clip of two PublicTest faces, moving.</summary>
    private static string TwoFaceClip(string directory)
    {
        using var first = TestVideos.Face(PublicTest.Rows, 10);
        using var second = TestVideos.Face(PublicTest.Rows, 200);
        return TestVideos.Encode(directory, "two-faces.webm", seconds: 4, (frame, canvas) =>
        {
            TestVideos.Draw(canvas, first, 60 + 4 * frame, 140, 170);
            TestVideos.Draw(canvas, second, 400, 80 + 3 * frame, 160);
        }, codec: "libvpx");
    }

    /// <summary>Picks <see cref="TwoFaceClip"/> in the page and waits for one emotion timeline per face.</summary>
    private static async Task ShowsTimelinesAsync(IPage page, string clip)
    {
        await page.SetInputFilesAsync("#video-input", clip);
        await page.WaitForSelectorAsync("#video-charts .timeline svg", new() { Timeout = 60_000 });
        Assert.Equal(2, await page.Locator("#video-charts .timeline svg").CountAsync());
        Assert.Equal(14, await page.Locator("#video-charts polyline").CountAsync());
        Assert.Matches(@"^8 frames at 2 fps, 2 face track\(s\)", await page.TextContentAsync("#video-status"));
        Assert.Matches(@"^Face 1: 0\.0–3\.5 s, mostly (angry|disgust|fear|happy|sad|surprise|neutral)", await page.TextContentAsync("#video-charts .timeline h3"));
    }

    /// <summary>
    /// A WebM clip of two PublicTest faces picked in the page: the progress bar runs, one SVG timeline per face appears,
    /// and a click three quarters along a chart seeks the video there.
    /// </summary>
    [BrowserFact(video: true)]
    public async Task Page_VideoFile_ShowsATimelineChartPerFaceThatSeeksTheVideo()
    {
        using var factory = FerApiFactory.OnKestrel();
        var address = factory.CreateClient().BaseAddress!;
        var directory = Directory.CreateTempSubdirectory("fer-page-video-").FullName;
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await LaunchAsync(playwright);
            var page = await browser.NewPageAsync();
            await page.GotoAsync(address.ToString());
            await ShowsTimelinesAsync(page, TwoFaceClip(directory));

            await page.WaitForFunctionAsync("() => document.getElementById('video-player').duration > 0", null, new() { Timeout = 30_000 });
            var chart = page.Locator("#video-charts .timeline svg").First;
            var box = (await chart.BoundingBoxAsync())!;
            // The plot spans viewBox x 34..592 of 600; three quarters of the way along it is 3 s of the 4-s clip.
            await chart.ClickAsync(new() { Position = new() { X = box.Width * (34 + 0.75f * 558) / 600, Y = box.Height / 2 } });
            var seconds = await page.EvaluateAsync<double>("() => document.getElementById('video-player').currentTime");
            Assert.InRange(seconds, 2.8, 3.2);

            Directory.CreateDirectory(Screenshots);
            await page.ScreenshotAsync(new() { Path = Path.Combine(Screenshots, "video.png"), FullPage = true });
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    /// <summary>
    /// Under the prefix /fer/ (Fer:Proxy:PathBase), reached at /fer without the slash: an upload, the webcam over the
    /// stream WebSocket and a video file all work with the page's Content-Security-Policy, no request leaves the prefix,
    /// and Swagger UI's "Try it out" calls the API under the prefix.
    /// </summary>
    [BrowserFact(video: true)]
    public async Task Page_UnderAPathPrefix_UploadWebcamVideoAndSwaggerWorkWithinThePolicy()
    {
        using var factory = FerApiFactory.OnKestrel(("Fer:Proxy:PathBase", "/fer"));
        var address = factory.CreateClient().BaseAddress!;
        var scene = SceneBuilder.Build(PublicTest.Rows, [10, 200, 3000], new Random(6));
        var directory = Directory.CreateTempSubdirectory("fer-page-prefix-").FullName;
        try
        {
            var camera = WriteFakeCamera(Path.Combine(directory, "camera.y4m"));
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await LaunchAsync(playwright, FakeCamera(camera));
            var page = await CameraPageAsync(browser, address);
            var errors = new List<string>();
            page.Console += (_, message) => { if (message.Type == "error") errors.Add(message.Text); };
            page.PageError += (_, error) => errors.Add(error);
            var requested = new List<string>();
            page.Request += (_, request) => requested.Add(request.Url);
            page.WebSocket += (_, socket) => requested.Add(socket.Url);

            var response = await page.GotoAsync(new Uri(address, "/fer").ToString());
            Assert.Equal(new Uri(address, "/fer/").ToString(), page.Url);
            Assert.Contains("script-src 'self'", (await response!.AllHeadersAsync())["content-security-policy"], StringComparison.Ordinal);
            await UploadsThreeFacesAsync(page, scene);
            await ShowsLiveLabelsAsync(page);
            await page.ClickAsync("#camera");
            await ShowsTimelinesAsync(page, TwoFaceClip(directory));

            Assert.Empty(errors);
            var service = requested.Select(url => new Uri(url)).Where(url => url.Port == address.Port).ToList();
            Assert.Contains(service, url => url.Scheme == "ws" && url.AbsolutePath == "/fer/api/emotions/stream");
            Assert.Contains(service, url => url.AbsolutePath == "/fer/api/emotions/video");
            Assert.All(service, url => Assert.StartsWith("/fer", url.AbsolutePath, StringComparison.Ordinal));

            var swagger = await browser.NewPageAsync();
            await swagger.GotoAsync(new Uri(address, "/fer/swagger/").ToString());
            await swagger.ClickAsync("#operations-Model-GetModel .opblock-summary");
            await swagger.ClickAsync("#operations-Model-GetModel .try-out__btn");
            await swagger.ClickAsync("#operations-Model-GetModel .execute");
            var status = swagger.Locator("#operations-Model-GetModel .live-responses-table tbody .response-col_status").First;
            await status.WaitForAsync(new() { Timeout = 30_000 });
            Assert.Equal("200", (await status.TextContentAsync())?.Trim());
            Assert.Contains("/fer/api/model", await swagger.TextContentAsync("#operations-Model-GetModel .request-url"), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }

    /// <summary>
    /// A page of another web app calls the API with fetch and an API key (so the browser sends a preflight first): from
    /// the allowed origin it reads the faces and the request id; from another origin the browser refuses the answer.
    /// </summary>
    [BrowserFact]
    public async Task Cors_PageOnAnotherOrigin_ReadsTheFacesWhenAllowedAndIsRefusedOtherwise()
    {
        using var allowed = new PageServer("<!doctype html><title>another app</title>");
        using var other = new PageServer("<!doctype html><title>yet another app</title>");
        using var factory = FerApiFactory.OnKestrel(("Fer:Cors:AllowedOrigins:0", allowed.Origin), ("Fer:Access:ApiKeys:0", "page-key"));
        var api = factory.CreateClient().BaseAddress!.ToString();
        var scene = Convert.ToBase64String(SceneBuilder.Build(PublicTest.Rows, [10, 200, 3000], new Random(6)).Encoded);
        const string call = """
            async ([api, png]) => {
              const form = new FormData();
              form.append("images", new Blob([Uint8Array.from(atob(png), c => c.charCodeAt(0))], { type: "image/png" }), "scene.png");
              try {
                const response = await fetch(api + "api/emotions", { method: "POST", body: form, headers: { "X-Api-Key": "page-key" } });
                const body = await response.json();
                return `${response.status}: ${body.images[0].faces.length} faces, request ${response.headers.get("X-Request-Id")}`;
              } catch (error) {
                return `refused: ${error.name}`;
              }
            }
            """;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(allowed.Origin + "/");
        Assert.Matches("^200: 3 faces, request [0-9a-f]{32}$", await page.EvaluateAsync<string>(call, new object[] { api, scene }));
        await page.GotoAsync(other.Origin + "/");
        Assert.Equal("refused: TypeError", await page.EvaluateAsync<string>(call, new object[] { api, scene }));
    }
}
