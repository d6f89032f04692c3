using System.Net;
using FerService.Api.Tests.Hosting;

namespace FerService.Api.Tests.Uploads;

/// <summary>Uploads are read straight into memory: no temp files of users' images, nothing to fail where /tmp is not writable.</summary>
public sealed class UploadTests
{
    [Fact]
    public async Task Post_UploadOver64KiB_WithoutWritableTempDirectory_Returns200()
    {
        using var running = ShutdownTests.StartService(new()
        {
            // Where ASP.NET's form reader spools files over 64 KiB; it does not exist, so any spooling fails the request.
            ["ASPNETCORE_TEMP"] = Path.Combine(Path.GetTempPath(), $"fer-missing-{Guid.NewGuid():N}"),
        });
        using var client = new HttpClient { BaseAddress = running.Address, Timeout = TimeSpan.FromSeconds(60) };
        Assert.Equal(HttpStatusCode.OK, (await Http.WaitReadyAsync(client)).StatusCode);
        var large = Http.NoisyPng(320, 240, 7);
        Assert.True(large.Length > 64 * 1024, $"the upload ({large.Length} bytes) must be larger than the form reader keeps in memory");

        using var content = Http.Multipart(("images", "noise.png", large, "image/png"), ("image", "small.png", Http.Png(), "image/png"));
        var response = await client.PostAsync(new Uri("/api/emotions", UriKind.Relative), content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var images = (await response.JsonAsync()).GetProperty("images");
        Assert.Equal(2, images.GetArrayLength());
        Assert.Equal("noise.png", images[0].GetProperty("name").GetString());
        Assert.Equal("small.png", images[1].GetProperty("name").GetString());
    }
}
