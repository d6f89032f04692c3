using System.Net;

namespace FerService.Api.Tests.Hosting;

/// <summary>
/// Forwarded headers believed from trusted proxies only (on real Kestrel, where the sender's address is real), the path
/// prefix, the response headers every answer carries, and the settings that stop start-up.
/// </summary>
public sealed class ProxyTests : IDisposable
{
    private readonly string _log = Path.Combine(Path.GetTempPath(), $"fer-proxy-{Guid.NewGuid():N}.log");

    public void Dispose() => File.Delete(_log);

    /// <summary>The service on Kestrel with one request per minute per client and its request log in a file.</summary>
    private FerApiFactory Start(params (string Key, string Value)[] settings) =>
        FerApiFactory.OnKestrel([("Fer:Access:RequestsPerMinute", "1"), .. FerApiFactory.FileLogging(_log, "Information"), .. settings]);

    private static async Task<HttpStatusCode> GetModelAsync(HttpClient client, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/model");
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return (await client.SendAsync(request)).StatusCode;
    }

    /// <summary>The servers the OpenAPI document names when asked through a proxy that says it serves it under /fer.</summary>
    private static async Task<string> ServersAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/swagger/v1/swagger.json");
        request.Headers.Add("X-Forwarded-Prefix", "/fer");
        var document = await (await client.SendAsync(request)).JsonAsync();
        return document.TryGetProperty("servers", out var servers) ? servers.GetRawText() : "";
    }

    /// <summary>The request log once it holds <paramref name="requests"/> lines of /api/model.</summary>
    private async Task<string> RequestLogAsync(int requests)
    {
        for (var attempt = 0; attempt < 50 && System.Text.RegularExpressions.Regex.Count(Http.ReadShared(_log), "HTTP GET /api/model responded") < requests; attempt++)
        {
            await Task.Delay(100);
        }
        return Http.ReadShared(_log);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ForwardedHeaders_FromAnUntrustedSender_ChangeNothing(bool anotherNetworkTrusted)
    {
        using var factory = anotherNetworkTrusted ? Start(("Fer:Proxy:TrustedNetworks:0", "10.0.0.0/8")) : Start();
        var client = factory.CreateClient();

        // Spoofed addresses do not buy a bucket each: both requests are the loopback sender's.
        Assert.Equal(HttpStatusCode.OK, await GetModelAsync(client, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await GetModelAsync(client, "203.0.113.2"));
        Assert.Equal("", await ServersAsync(client));
        var log = await RequestLogAsync(2);
        Assert.Contains("responded 200", log, StringComparison.Ordinal);
        Assert.Contains("from 127.0.0.1", log, StringComparison.Ordinal);
        Assert.DoesNotContain("203.0.113.", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForwardedHeaders_FromATrustedProxy_ClientAddressAndPrefixUsed()
    {
        using var factory = Start(("Fer:Proxy:TrustedNetworks:0", "127.0.0.1/32"));
        var client = factory.CreateClient();

        // A bucket per forwarded client: the second client is not limited, the first one again is.
        Assert.Equal(HttpStatusCode.OK, await GetModelAsync(client, "203.0.113.1"));
        Assert.Equal(HttpStatusCode.OK, await GetModelAsync(client, "203.0.113.2"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await GetModelAsync(client, "203.0.113.1"));
        Assert.Contains("\"url\": \"/fer\"", await ServersAsync(client), StringComparison.Ordinal);
        var log = await RequestLogAsync(3);
        Assert.Contains("from 203.0.113.1", log, StringComparison.Ordinal);
        Assert.Contains("from 203.0.113.2", log, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"/api/model responded \d+ in [\d.]+ ms from 127\.0\.0\.1", log);
    }

    [Fact]
    public async Task PathBase_Setting_PageApiAndOpenApiAnswerUnderThePrefix()
    {
        using var factory = new FerApiFactory(("Fer:Proxy:PathBase", "/fer"));
        var client = factory.CreateClient(new() { AllowAutoRedirect = false });

        var bare = await client.GetAsync("/fer");
        Assert.Equal(HttpStatusCode.MovedPermanently, bare.StatusCode);
        Assert.Equal("/fer/", new Uri(client.BaseAddress!, bare.Headers.Location!).AbsolutePath);
        Assert.Contains("<script src=\"app.js\">", await client.GetStringAsync("/fer/"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fer/api/model")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/fer/swagger/index.html")).StatusCode);
        var document = await (await client.GetAsync("/fer/swagger/v1/swagger.json")).JsonAsync();
        Assert.Equal("/fer", document.GetProperty("servers")[0].GetProperty("url").GetString());
    }

    [Fact]
    public async Task ResponseHeaders_EveryKindOfAnswer_NosniffAndNoServerHeaderPolicyOnThePage()
    {
        using var factory = FerApiFactory.OnKestrel();
        var client = factory.CreateClient();

        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["page"] = await client.GetAsync("/"),
            ["script"] = await client.GetAsync("/app.js"),
            ["model"] = await client.GetAsync("/api/model"),
            ["live"] = await client.GetAsync("/health/live"),
            ["metrics"] = await client.GetAsync("/metrics"),
            ["swagger"] = await client.GetAsync("/swagger/index.html"),
            ["missing"] = await client.GetAsync("/no-such-page"),
            ["bad request"] = await client.PostAsync("/api/emotions", new StringContent("{", System.Text.Encoding.UTF8, "application/json")),
        };
        Assert.Equal(HttpStatusCode.NotFound, answers["missing"].StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, answers["bad request"].StatusCode);
        foreach (var (name, answer) in answers)
        {
            Assert.True(answer.Headers.TryGetValues("X-Content-Type-Options", out var nosniff) && nosniff.Single() == "nosniff", name);
            Assert.False(answer.Headers.Contains("Server"), name);
        }
        var policy = answers["page"].Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Fer:Cors:AllowedOrigins:0", "https://app.example.org/")]
    [InlineData("Fer:Cors:AllowedOrigins:0", "app.example.org")]
    [InlineData("Fer:Proxy:TrustedNetworks:0", "10.0.0.0/33")]
    [InlineData("Fer:Proxy:PathBase", "fer/")]
    public void Start_BadCorsOrProxySetting_RefusedNamingTheValue(string key, string value)
    {
        using var factory = new FerApiFactory((key, value));
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains($"'{value}'", error.ToString(), StringComparison.Ordinal);
    }
}
