using System.Net;

namespace FerService.Api.Tests.Hosting;

/// <summary>CORS for pages on other origins: off by default, on for the configured origins only.</summary>
public sealed class CorsTests
{
    private const string App = "https://app.example.org";

    private static HttpRequestMessage Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/emotions");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "x-api-key");
        return request;
    }

    private static HttpRequestMessage GetModel(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/model");
        request.Headers.Add("Origin", origin);
        return request;
    }

    private static string? AllowOrigin(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;

    [Fact]
    public async Task Cors_Default_NoResponseAllowsAnotherOrigin()
    {
        using var factory = new FerApiFactory();
        var client = factory.CreateClient();

        using var preflight = Preflight(App);
        var answer = await client.SendAsync(preflight);
        Assert.Null(AllowOrigin(answer));
        Assert.NotEqual(HttpStatusCode.NoContent, answer.StatusCode);
        using var get = GetModel(App);
        var model = await client.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, model.StatusCode);
        Assert.Null(AllowOrigin(model));
    }

    [Fact]
    public async Task Cors_AllowedOrigin_PreflightAnsweredWithoutAKeyAllowingPostAndTheKeyHeader()
    {
        using var factory = new FerApiFactory(("Fer:Cors:AllowedOrigins:0", App), ("Fer:Access:ApiKeys:0", "alpha-key"));
        using var preflight = Preflight(App);
        var answer = await factory.CreateClient().SendAsync(preflight);

        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal(App, AllowOrigin(answer));
        Assert.Contains("POST", answer.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("x-api-key", answer.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("600", answer.Headers.GetValues("Access-Control-Max-Age").Single());
    }

    [Fact]
    public async Task Cors_AllowedOrigin_AnswersAndRefusalsAllowItAndExposeRetryAfterAndRequestId()
    {
        using var factory = new FerApiFactory(("Fer:Cors:AllowedOrigins:0", "https://other.example.org"), ("Fer:Cors:AllowedOrigins:1", App),
            ("Fer:Access:RequestsPerMinute", "1"));
        var client = factory.CreateClient();

        using var first = GetModel(App);
        var ok = await client.SendAsync(first);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(App, AllowOrigin(ok));
        var exposed = ok.Headers.GetValues("Access-Control-Expose-Headers").Single();
        Assert.Contains("Retry-After", exposed, StringComparison.Ordinal);
        Assert.Contains("X-Request-Id", exposed, StringComparison.Ordinal);

        using var second = GetModel(App);
        var limited = await client.SendAsync(second);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(App, AllowOrigin(limited));
        Assert.True(limited.Headers.Contains("Retry-After"));
    }

    [Fact]
    public async Task Cors_OriginNotInTheList_NotAllowed()
    {
        using var factory = new FerApiFactory(("Fer:Cors:AllowedOrigins:0", App));
        var client = factory.CreateClient();

        using var preflight = Preflight("https://app.example.org.evil.test");
        Assert.Null(AllowOrigin(await client.SendAsync(preflight)));
        using var get = GetModel("http://app.example.org");
        Assert.Null(AllowOrigin(await client.SendAsync(get)));
    }
}
