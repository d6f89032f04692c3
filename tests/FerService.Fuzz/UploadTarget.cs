using System.Text;
using FerService.Api.Analysis;
using FerService.Api.Uploads;
using Microsoft.AspNetCore.Http;

namespace FerService.Fuzz;

/// <summary>
/// The upload reader on untrusted bodies: the first input byte picks the content type (multipart with a fixed boundary,
/// JSON, JSON with a charset), the rest is the body. Every outcome must be images or a client problem; an exception that
/// escapes (a 500 in the service) or upload memory left reserved after the request is a finding.
/// </summary>
internal static class UploadTarget
{
    public const string Boundary = "fuzzboundary";
    private static readonly string[] ContentTypes =
        [$"multipart/form-data; boundary={Boundary}", "application/json", "application/json; charset=utf-8", $"multipart/form-data; boundary=\"{Boundary}\""];
    private static readonly LimitsOptions Limits = new() { MaxRequestBytes = 1 << 20, MaxImagesPerRequest = 8 };

    public static void Run(byte[] data)
    {
        if (data.Length == 0)
        {
            return;
        }
        var budget = new UploadBudget(4 << 20);
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = ContentTypes[data[0] % ContentTypes.Length];
        context.Request.Body = new MemoryStream(data, 1, data.Length - 1, writable: false);
        context.Request.ContentLength = data.Length - 1;
        var uploads = UploadReader.ReadAsync(context.Request, Limits, budget, CancellationToken.None).GetAwaiter().GetResult();
        uploads.Dispose();
        if (budget.Used != 0)
        {
            throw new InvalidOperationException($"{budget.Used} upload bytes still reserved after the request.");
        }
    }

    public static IEnumerable<(string Name, byte[] Data)> Seeds(IEnumerable<(string Name, byte[] Data)> images)
    {
        foreach (var (name, image) in images.Take(2))
        {
            var multipart = new MemoryStream();
            multipart.WriteByte(0);
            Write(multipart, $"--{Boundary}\r\nContent-Disposition: form-data; name=\"images\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            multipart.Write(image);
            Write(multipart, $"\r\n--{Boundary}--\r\n");
            yield return ($"upload-{name}.multipart", multipart.ToArray());
            yield return ($"upload-{name}.json", [1, .. Encoding.UTF8.GetBytes($"{{\"images\":[{{\"name\":\"{name}\",\"data\":\"{Convert.ToBase64String(image)}\"}}]}}")]);
        }
    }

    private static void Write(Stream stream, string text) => stream.Write(Encoding.ASCII.GetBytes(text));
}
