using System.Net;

namespace FerService.Api.Tests.Hosting;

public sealed class AccessTests
{
    private static async Task<HttpResponseMessage> PostAsync(HttpClient client, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/emotions?detect=false")
        {
            Content = Http.Multipart(("image", "a.png", Http.Png(), "image/png")),
        };
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task ApiKeys_On_MissingOrWrongKeyGets401ProblemRightKeyPassesHealthStaysOpen()
    {
        using var factory = new FerApiFactory(("Fer:Access:ApiKeys:0", "alpha-key"), ("Fer:Access:ApiKeys:1", "beta-key"));
        var client = factory.CreateClient();

        foreach (var key in new[] { null, "", "alpha", "alpha-key-", "ALPHA-KEY" })
        {
            var denied = await PostAsync(client, key);
            Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
            Assert.Equal("application/problem+json", denied.Content.Headers.ContentType?.MediaType);
            Assert.NotEmpty(denied.Headers.WwwAuthenticate);
        }
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "beta-key")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/metrics")).StatusCode);
    }

    [Fact]
    public async Task RateLimit_PerKey_ExtraRequestsGet429WithRetryAfterOtherKeysUnaffected()
    {
        using var factory = new FerApiFactory(("Fer:Access:ApiKeys:0", "a"), ("Fer:Access:ApiKeys:1", "b"), ("Fer:Access:RequestsPerMinute", "2"));
        var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "a")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "a")).StatusCode);
        var limited = await PostAsync(client, "a");
        Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "b")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task ApiKeys_On_UploadWithoutKeyRefusedBeforeItsBodyIsRead()
    {
        // Bodies are read before admission; one without a key must not get that far (it could fill the upload budget).
        using var factory = FerApiFactory.OnKestrel(("Fer:Access:ApiKeys:0", "alpha-key"));
        using var upload = await HalfSentUpload.StartAsync(factory.CreateClient().BaseAddress!, Http.Multipart(("image", "a.png", Http.NoisyPng(200, 200, 1), "image/png")));
        Assert.StartsWith("HTTP/1.1 401", await upload.ReadStatusLineAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Defaults_NoKeysNoRate_RequestsPass()
    {
        using var factory = new FerApiFactory();
        var client = factory.CreateClient();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, null)).StatusCode);
        }
    }
}
