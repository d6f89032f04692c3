using System.Net;
using System.Text;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Api.Tests.Errors;

/// <summary>
/// A hostile-input corpus generated here (no binary blobs of unknown origin): every case must get its
/// documented status as problem+json without a stack trace, and the service must keep serving.
/// </summary>
public sealed class HostileInputTests(FerApiFactory factory) : IClassFixture<FerApiFactory>
{
    private sealed record Case(string Name, string FileName, byte[] Bytes, HttpStatusCode[] Expected);

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 90)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }

    private static SKBitmap Picture(int width, int height, SKColorType colorType = SKColorType.Rgba8888, SKAlphaType alpha = SKAlphaType.Premul)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, colorType, alpha));
        using var canvas = new SKCanvas(bitmap);
        using var paint = new SKPaint
        {
            Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [SKColors.Orange, SKColors.Teal.WithAlpha(120)], SKShaderTileMode.Clamp),
        };
        canvas.DrawRect(0, 0, width, height, paint);
        return bitmap;
    }

    private static IEnumerable<Case> Corpus()
    {
        HttpStatusCode[] ok = [HttpStatusCode.OK], unsupported = [HttpStatusCode.UnsupportedMediaType],
            corrupt = [HttpStatusCode.UnprocessableEntity], tooLarge = [HttpStatusCode.RequestEntityTooLarge],
            okOrCorrupt = [HttpStatusCode.OK, HttpStatusCode.UnprocessableEntity];
        using var picture = Picture(160, 120);
        var png = Encode(picture, SKEncodedImageFormat.Png);
        var jpeg = Encode(picture, SKEncodedImageFormat.Jpeg);
        var webp = Encode(picture, SKEncodedImageFormat.Webp);
        var lossless = Encode(picture, SKEncodedImageFormat.Webp, 100);
        byte[] gif =
        [
            0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x2C, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
        ];
        var random = new Random(40);
        byte[] RandomBytes(int length)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            return bytes;
        }

        // Not images, or formats we do not decode: 415.
        yield return new("plain text", "notes.txt", Encoding.UTF8.GetBytes("hello, I am not a picture"), unsupported);
        yield return new("text named .jpg", "photo.jpg", Encoding.UTF8.GetBytes("still text"), unsupported);
        yield return new("HEIC header", "a.heic", [0, 0, 0, 0x18, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8], unsupported);
        yield return new("TIFF little-endian", "a.tif", [.. "II*\0"u8, 8, 0, 0, 0, 0, 0], unsupported);
        yield return new("TIFF big-endian", "a.tif", [.. "MM\0*"u8, 0, 0, 0, 8, 0, 0], unsupported);
        yield return new("SVG", "a.svg", Encoding.UTF8.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"/>"), unsupported);
        yield return new("PDF", "a.pdf", Encoding.ASCII.GetBytes("%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF"), unsupported);
        yield return new("HTML", "a.html", Encoding.UTF8.GetBytes("<!doctype html><img src=x onerror=alert(1)>"), unsupported);
        yield return new("ZIP", "a.zip", [.. "PK\x03\x04"u8, .. RandomBytes(60)], unsupported);
        yield return new("ELF", "a.out", [0x7F, .. "ELF"u8, .. RandomBytes(60)], unsupported);
        yield return new("one byte", "x", [0xFF], unsupported);
        for (var i = 0; i < 4; i++)
        {
            yield return new($"random bytes #{i}", "noise.bin", RandomBytes(100 + i * 1000), unsupported);
        }

        // Empty part: 400.
        yield return new("zero bytes", "empty.png", [], [HttpStatusCode.BadRequest]);

        // Known formats, broken data: 422.
        yield return new("PNG signature only", "a.png", png[..8], corrupt);
        yield return new("JPEG SOI only", "a.jpg", jpeg[..3], corrupt);
        yield return new("GIF header then HTML (polyglot)", "a.gif", [.. "GIF89a"u8, 16, 0, 16, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes("<script>alert(1)</script>")], corrupt);
        yield return new("GIF header whose HTML reads as 29500×29283", "a.gif", [.. "GIF89a"u8, .. Encoding.UTF8.GetBytes("<script>alert(1)</script>")], tooLarge);
        yield return new("RIFF WEBP header only", "a.webp", webp[..16], corrupt);
        yield return new("BMP header only", "a.bmp", [.. "BM"u8, .. new byte[12]], corrupt);
        foreach (var (format, bytes) in new[] { ("PNG", png), ("JPEG", jpeg), ("WebP", webp) })
        {
            foreach (var fraction in new[] { 0.1, 0.5, 0.9 })
            {
                yield return new($"{format} truncated at {fraction:P0}", "cut." + format.ToLowerInvariant(), bytes[..(int)(bytes.Length * fraction)], corrupt);
            }
        }
        foreach (var (format, bytes) in new[] { ("PNG", png), ("JPEG", jpeg), ("WebP", webp) })
        {
            for (var flip = 0; flip < 3; flip++)
            {
                var flipped = (byte[])bytes.Clone();
                var at = bytes.Length / 4 + random.Next(bytes.Length / 2);
                flipped[at] ^= (byte)(1 << random.Next(8));
                // Formats without checksums may still decode: either answer is fine, a 500 or a hang is not.
                yield return new($"{format} bit flip #{flip}", "flip." + format.ToLowerInvariant(), flipped, okOrCorrupt);
            }
        }

        // Size limits from the header: 413 before decoding.
        yield return new("PNG declaring 65535×65535", "bomb.png", Http.PngHeaderOnly(65_535, 65_535), tooLarge);
        yield return new("PNG declaring 16385×1", "wide.png", Http.PngHeaderOnly(16_385, 1), tooLarge);
        yield return new("PNG declaring 1×20000", "tall.png", Http.PngHeaderOnly(1, 20_000), tooLarge);

        // Unusual but valid images: decoded.
        using (var wide = Picture(16_384, 1))
        {
            yield return new("16384×1 PNG", "wide.png", Encode(wide, SKEncodedImageFormat.Png), ok);
        }
        using (var tall = Picture(1, 16_384))
        {
            // The detector sees it shrunk to one column of 640 rows, padded to 32 columns.
            yield return new("1×16384 PNG", "tall.png", Encode(tall, SKEncodedImageFormat.Png), ok);
        }
        using (var dot = Picture(1, 1))
        {
            yield return new("1×1 PNG", "dot.png", Encode(dot, SKEncodedImageFormat.Png), ok);
        }
        using (var grey = Picture(64, 48, SKColorType.Gray8, SKAlphaType.Opaque))
        {
            yield return new("greyscale PNG", "grey.png", Encode(grey, SKEncodedImageFormat.Png), ok);
            yield return new("greyscale JPEG", "grey.jpg", Encode(grey, SKEncodedImageFormat.Jpeg), ok);
        }
        using (var alpha = Picture(64, 48, SKColorType.Rgba8888, SKAlphaType.Unpremul))
        {
            alpha.Erase(SKColors.Red.WithAlpha(40));
            yield return new("PNG with alpha", "alpha.png", Encode(alpha, SKEncodedImageFormat.Png), ok);
        }
        using (var deep = Picture(64, 48, SKColorType.Rgba16161616, SKAlphaType.Unpremul))
        {
            yield return new("16-bit PNG", "deep.png", Encode(deep, SKEncodedImageFormat.Png), ok);
        }
        yield return new("CMYK JPEG (Adobe)", "cmyk.jpg", CraftedImages.CmykJpeg(255, 0, 0, 255), ok);
        yield return new("animated WebP, first frame", "anim.webp", CraftedImages.AnimatedWebP(64, SKColors.Red, SKColors.Blue), ok);
        yield return new("PNG named .jpg", "photo.jpg", png, ok);
        yield return new("lossless WebP", "a.webp", lossless, ok);
        yield return new("GIF first frame", "a.gif", gif, ok);
        yield return new("JPEG with 60 KB of EXIF", "exif.jpg", WithLargeExif(jpeg), ok);
        yield return new("JPEG rotated by EXIF", "rotated.jpg", Exif.WithOrientation(jpeg, 8), ok);
    }

    /// <summary>A JPEG with an extra 60 KB APP1 segment after SOI.</summary>
    private static byte[] WithLargeExif(byte[] jpeg)
    {
        const int payload = 60_000;
        var segment = new byte[payload + 4];
        segment[0] = 0xFF;
        segment[1] = 0xE1;
        segment[2] = (payload + 2) >> 8;
        segment[3] = (payload + 2) & 0xFF;
        "Exif\0\0MM\0*"u8.CopyTo(segment.AsSpan(4));
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }

    [Fact]
    public async Task Post_HostileCorpus_EveryCaseGetsItsDocumentedStatusAndTheServiceKeepsServing()
    {
        var client = factory.CreateClient();
        var cases = Corpus().ToList();
        Assert.True(cases.Count >= 40, $"{cases.Count} cases");
        var failures = new List<string>();
        foreach (var item in cases)
        {
            using var content = Http.Multipart(("image", item.FileName, item.Bytes, "application/octet-stream"));
            var response = await client.PostAsync("/api/emotions?detect=false", content);
            var body = await response.Content.ReadAsStringAsync();
            if (!item.Expected.Contains(response.StatusCode))
            {
                failures.Add($"{item.Name}: {(int)response.StatusCode} {body}");
            }
            else if (response.StatusCode != HttpStatusCode.OK && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                failures.Add($"{item.Name}: {(int)response.StatusCode} is not problem+json");
            }
            if (body.Contains("   at ", StringComparison.Ordinal) || body.Contains("Exception", StringComparison.Ordinal))
            {
                failures.Add($"{item.Name}: the response shows an exception");
            }
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));

        using var healthy = Http.Multipart(("image", "ok.png", Http.Png(), "image/png"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/emotions", healthy)).StatusCode);
    }
}
