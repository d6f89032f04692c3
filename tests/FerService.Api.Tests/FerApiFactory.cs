using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FerService.Tests.Shared;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace FerService.Api.Tests;

/// <summary>The real service in-process with the repository's models.</summary>
public sealed class FerApiFactory : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Fer:Models:ClassifierManifest", TestPaths.ClassifierManifest);
        builder.UseSetting("Fer:Detection:ModelPath", TestPaths.Detector256);
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
    }
}

internal static class Http
{
    /// <summary>A flat-coloured PNG: decodes fine, holds no face.</summary>
    public static byte[] Png(int side = 64)
    {
        using var bitmap = new SkiaSharp.SKBitmap(side, side);
        bitmap.Erase(SkiaSharp.SKColors.Wheat);
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static MultipartFormDataContent Multipart(params (string Field, string FileName, byte[] Bytes, string ContentType)[] parts)
    {
        var content = new MultipartFormDataContent();
        foreach (var (field, fileName, bytes, contentType) in parts)
        {
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            content.Add(file, field, fileName);
        }
        return content;
    }

    public static MultipartFormDataContent Images(IEnumerable<byte[]> images)
    {
        var content = new MultipartFormDataContent();
        var i = 0;
        foreach (var bytes in images)
        {
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            content.Add(file, "images", $"image{i++}.png");
        }
        return content;
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>())!;
}
