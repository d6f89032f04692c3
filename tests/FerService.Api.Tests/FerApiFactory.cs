using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using FerService.Tests.Shared;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;

namespace FerService.Api.Tests;

/// <summary>The real service in-process with the repository's models; <paramref name="settings"/> override configuration.</summary>
public class FerApiFactory : WebApplicationFactory<Program>
{
    private readonly (string Key, string Value)[] _settings;

    // One public constructor: xunit creates class fixtures through it.
    public FerApiFactory() : this([])
    {
    }

    internal FerApiFactory(params (string Key, string Value)[] settings) => _settings = settings;

    /// <summary>Settings that send the service's log to a file from the given level on, for tests that read it.</summary>
    public static (string Key, string Value)[] FileLogging(string path, string minimumLevel) =>
    [
        ("Serilog:MinimumLevel:Default", minimumLevel),
        ("Serilog:Using:0", "Serilog.Sinks.File"),
        ("Serilog:WriteTo:0:Name", "File"),
        ("Serilog:WriteTo:0:Args:path", path),
    ];

    /// <summary>The service on real Kestrel (an ephemeral loopback port), for behaviour only a real server has.</summary>
    public static FerApiFactory OnKestrel(params (string Key, string Value)[] settings)
    {
        var factory = new FerApiFactory(settings);
        factory.UseKestrel(0);
        factory.StartServer();
        return factory;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var values = new Dictionary<string, string?>
        {
            ["Fer:Models:ClassifierManifest"] = TestPaths.ServiceClassifierManifest,
            ["Fer:Detection:ModelPath"] = TestPaths.Detector,
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in _settings)
        {
            values[key] = value;
        }
        // Added last, so these win over appsettings.json and the environment.
        builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(values));
    }
}

/// <summary>The service on real Kestrel (an ephemeral loopback port), for limits only Kestrel enforces.</summary>
public sealed class KestrelFerApiFactory : FerApiFactory
{
    public const int MaxRequestBytes = 200_000;

    public KestrelFerApiFactory() : base(("Fer:Limits:MaxRequestBytes", MaxRequestBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)))
    {
        UseKestrel(0);
        StartServer();
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

    /// <summary>A PNG of random pixels: large on the wire and slow to decode and search, so requests overlap.</summary>
    public static byte[] NoisyPng(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 4];
        new Random(seed).NextBytes(pixels);
        using var bitmap = new SkiaSharp.SKBitmap(width, height);
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A multipart body with one part of <paramref name="field"/> whose closing boundary never comes (boundary XYZ).</summary>
    public static ByteArrayContent MultipartWithoutClosingBoundary(string field, string fileName, string contentType)
    {
        var content = new ByteArrayContent(System.Text.Encoding.ASCII.GetBytes(
            $"--XYZ\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{fileName}\"\r\nContent-Type: {contentType}\r\n\r\nabcdefgh"));
        content.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=XYZ");
        return content;
    }

    /// <summary>Polls /health/ready until it answers 200 (or a minute passes) and returns the last response.</summary>
    public static async Task<HttpResponseMessage> WaitReadyAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var ready = await client.GetAsync("/health/ready");
                if (ready.StatusCode == System.Net.HttpStatusCode.OK || DateTime.UtcNow > deadline)
                {
                    return ready;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
    }

    /// <summary>A valid PNG signature and IHDR declaring <paramref name="width"/> × <paramref name="height"/>, then one empty IDAT and IEND.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        var png = new List<byte>([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        void Chunk(string type, byte[] data)
        {
            png.AddRange(BigEndian(data.Length));
            var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            png.AddRange(typed);
            png.AddRange(BigEndian((int)Crc32(typed)));
        }
        Chunk("IHDR", [.. BigEndian(width), .. BigEndian(height), 8, 2, 0, 0, 0]);
        Chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
        Chunk("IEND", []);
        return [.. png];
    }

    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }
        return ~crc;
    }

    private static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

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

    /// <summary>A log file the service is still writing, or empty when it has not created it yet.</summary>
    public static string ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return "";
        }
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        return reader.ReadToEnd();
    }

    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>())!;
}
