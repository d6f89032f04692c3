using FerService.Tests.Shared;
using Microsoft.Playwright;

namespace FerService.Api.Tests;

/// <summary>Needs Debian's chromium (CI installs it); skipped with a message where it is absent.</summary>
internal sealed class BrowserFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public BrowserFactAttribute()
    {
        if (!File.Exists(Chromium))
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

    [BrowserFact]
    public async Task Page_UploadSceneWithFaces_DrawsBoxesLabelsAndProbabilityBars()
    {
        using var factory = FerApiFactory.OnKestrel();
        var address = factory.CreateClient().BaseAddress!;
        var scene = SceneBuilder.Build(PublicTest.Rows, [10, 200, 3000], new Random(6));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = BrowserFactAttribute.Chromium,
            Headless = true,
            Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync();
        var failedRequests = new List<string>();
        page.RequestFailed += (_, request) => failedRequests.Add(request.Url);
        await page.GotoAsync(address.ToString());
        Assert.Equal("FerService — facial expression recognition", await page.TitleAsync());

        await page.SetInputFilesAsync("#files", new FilePayload { Name = "scene.png", MimeType = "image/png", Buffer = scene.Encoded });
        await page.WaitForSelectorAsync(".result .face", new() { Timeout = 30_000 });

        var caption = await page.TextContentAsync(".result figcaption");
        Assert.Equal("scene.png: 3 face(s)", caption);
        Assert.Equal(3, await page.Locator(".result .face").CountAsync());
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
}
