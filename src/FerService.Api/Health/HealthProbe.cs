namespace FerService.Api.Health;

/// <summary>
/// <c>FerService.Api --probe &lt;url&gt;</c>: exits 0 when the URL answers 2xx within 5 s, else 1. Lets a container
/// health check run without a shell or curl in the image.
/// </summary>
public static class HealthProbe
{
    public static bool IsRequested(string[] args, out string url)
    {
        url = args is ["--probe", var target] ? target : "";
        return url.Length > 0;
    }

    public static async Task<int> RunAsync(string url)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(new Uri(url));
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            await Console.Error.WriteLineAsync($"probe {url}: {e.Message}");
            return 1;
        }
    }
}
