using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace FerService.Api.Tests.Health;

public sealed partial class ObservabilityTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-logs-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex TraceId();

    [Fact]
    public async Task Post_WithTraceparent_EchoesTheCallersTraceIdAsRequestId()
    {
        using var factory = new FerApiFactory();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/emotions?detect=false")
        {
            Content = Http.Multipart(("image", "a.png", Http.Png(), "image/png")),
        };
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        var response = await factory.CreateClient().SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", response.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task Get_WithoutTraceparent_GetsAFreshRequestId()
    {
        using var factory = new FerApiFactory();
        var response = await factory.CreateClient().GetAsync("/health/live");
        Assert.Matches(TraceId(), response.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task Logs_ImageRequests_OneEventPerRequestAndNoImageBytes()
    {
        var logFile = Path.Combine(_directory, "service.log");
        var png = Http.Png(90);
        var base64 = Convert.ToBase64String(png);
        using (var factory = new FerApiFactory(FerApiFactory.FileLogging(logFile, "Debug")))
        {
            var client = factory.CreateClient();
            using var multipart = Http.Multipart(("image", "secret-name.png", png, "image/png"));
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/emotions", multipart)).StatusCode);
            var json = await client.PostAsJsonAsync("/api/emotions?detect=false", new { images = new[] { new { name = "b.png", data = base64 } } });
            Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        }

        var log = await File.ReadAllTextAsync(logFile);
        Assert.True(Regex.Count(log, "HTTP POST /api/emotions.* responded 200") == 2, log);
        Assert.DoesNotContain(base64[..40], log, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexString(png.AsSpan(0, 24)), log, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("IDAT", log, StringComparison.Ordinal);
    }
}
