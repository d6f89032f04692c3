using FerService.Api.Emotions;
using System.Text.Json;
using FerService.Api.Errors;
using FerService.Api.Analysis;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace FerService.Api.Uploads;

/// <summary>Reads images from multipart/form-data or JSON with base64, enforcing the request-level limits.</summary>
internal static class UploadReader
{
    private static readonly string[] FileFields = ["images", "image"];
    private const int MaxBoundaryLength = 128; // RFC 2046 allows 70; the form reader's limit
    private const string JsonShape = "{\"images\":[{\"name\":\"a.jpg\",\"data\":\"<base64>\"}]}";

    /// <summary>Reads the body; the result holds the images or the problem (every failure a client's, never a 500).</summary>
    public static async Task<BufferedUploads> ReadAsync(HttpRequest request, LimitsOptions limits, UploadBudget budget, CancellationToken cancellationToken)
    {
        var uploads = new BufferedUploads();
        ProblemDetails? problem = null;
        try
        {
            uploads.Error = request.HasFormContentType ? await ReadMultipartAsync(request, limits, budget, uploads, cancellationToken)
                : request.HasJsonContentType() ? await ReadJsonAsync(request, limits, budget, uploads, cancellationToken)
                : Problems.UnsupportedMediaType("Send multipart/form-data with file parts named 'images', or application/json with base64 images.");
        }
        catch (Exception e) when ((problem = Problem(e, request, limits.MaxRequestBytes, limits.RequestTimeout, budget, cancellationToken)) is not null)
        {
            uploads.Dispose();
            uploads.Error = problem;
        }
        catch
        {
            uploads.Dispose();
            throw;
        }
        return uploads;
    }

    /// <summary>
    /// What a failed read of an upload body tells the client; null for a fault of the server's own. Shared by image and
    /// video uploads: <paramref name="maxBytes"/> and <paramref name="timeout"/> are the limits that body was read under.
    /// </summary>
    internal static ProblemDetails? Problem(Exception e, HttpRequest request, long maxBytes, TimeSpan timeout, UploadBudget? budget,
        CancellationToken cancellationToken) => e switch
    {
        UploadBudgetExceededException when budget is not null => Problems.Overloaded(
            $"Uploads in progress fill the {budget.Capacity / 1048576.0:0.#} MiB upload memory budget; retry after a second."),
        // A client that hung up: nobody reads the answer, but logs and metrics record a client's doing, not a failure.
        IOException or OperationCanceledException when request.HttpContext.RequestAborted.IsCancellationRequested =>
            Problems.Create(StatusCodes.Status499ClientClosedRequest, "Client closed request", "The client closed the connection before the body was complete."),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
            Problems.TooLarge($"The request body is larger than {maxBytes:N0} bytes."),
        BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } =>
            Problems.Create(StatusCodes.Status408RequestTimeout, "Request timeout", "The request body arrived more slowly than the server's minimum data rate."),
        // Kestrel's own words for broken framing (a bad chunk size, a body that ends early): they name nothing internal.
        BadHttpRequestException bad => Problems.Create(bad.StatusCode, "Bad request", $"The request body could not be read: {bad.Message}"),
        InvalidDataException limit when limit.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) =>
            Problems.TooLarge($"The request exceeds a form limit: {limit.Message}"),
        InvalidDataException malformed => Problems.BadRequest($"The multipart body is malformed: {malformed.Message}"),
        // The serializer's messages name our types; the path, line and byte say where the body went wrong.
        JsonException json => Problems.BadRequest(
            $"The JSON body is malformed or not of the form {JsonShape}: see {json.Path ?? "$"} (line {json.LineNumber + 1}, byte {json.BytePositionInLine + 1})."),
        // The multipart reader's "Unexpected end of Stream" (its message blames another component; here it never is).
        IOException => Problems.BadRequest("The multipart body ended before its closing boundary."),
        // The deadline fell while the body was still arriving.
        OperationCanceledException when cancellationToken.IsCancellationRequested => Problems.Create(StatusCodes.Status408RequestTimeout, "Request timeout",
            $"The request body did not arrive within {timeout.TotalSeconds:0.###} s."),
        _ => null,
    };

    /// <summary>
    /// Streams each part into a pooled buffer that grows with what arrives. The form reader would buffer every file over
    /// 64 KB to a temp file first (disk writes of user images, and a 500 where the temp directory is not writable).
    /// </summary>
    private static async Task<ProblemDetails?> ReadMultipartAsync(HttpRequest request, LimitsOptions limits, UploadBudget budget, BufferedUploads uploads,
        CancellationToken cancellationToken)
    {
        var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            ? HeaderUtilities.RemoveQuotes(contentType.Boundary).Value : null;
        if (string.IsNullOrWhiteSpace(boundary) || boundary.Length > MaxBoundaryLength)
        {
            return Problems.BadRequest($"multipart/form-data needs a boundary parameter of 1–{MaxBoundaryLength} characters.");
        }
        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = limits.MaxRequestBytes };
        var images = 0;
        while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
        {
            var isImage = ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                && disposition.IsFileDisposition() && Array.IndexOf(FileFields, disposition.Name.Value) >= 0;
            if (!isImage || ++images > limits.MaxImagesPerRequest)
            {
                // Other fields are not ours, and images over the limit are only counted for the error.
                await section.Body.CopyToAsync(Stream.Null, cancellationToken);
                continue;
            }
            var fileName = HeaderUtilities.RemoveQuotes(
                disposition!.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
            var name = string.IsNullOrEmpty(fileName) ? null : Path.GetFileName(fileName);
            var buffer = uploads.NewBuffer(budget);
            await buffer.ReadToEndAsync(section.Body, cancellationToken);
            uploads.Uploads.Add(buffer.Length == 0
                ? new Upload(name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("The file part is empty."))
                : new Upload(name, buffer.Written, null));
        }
        if (images == 0)
        {
            return Problems.BadRequest("No image: add one or more file parts named 'images' (or 'image').");
        }
        if (images > limits.MaxImagesPerRequest)
        {
            return Problems.BadRequest($"{images} images sent; at most {limits.MaxImagesPerRequest} per request.");
        }
        return null;
    }

    private static async Task<ProblemDetails?> ReadJsonAsync(HttpRequest request, LimitsOptions limits, UploadBudget budget, BufferedUploads uploads,
        CancellationToken cancellationToken)
    {
        // RFC 8259: JSON between systems is UTF-8. Any other charset was a 500 when the serializer could not transcode it.
        var charset = MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType) ? contentType.Charset : default;
        if (charset.HasValue && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            return Problems.UnsupportedMediaType($"Send JSON as UTF-8; charset={charset} is not supported.");
        }
        EmotionJsonRequest? body;
        using (var json = new UploadBuffer(budget))
        {
            await json.ReadToEndAsync(request.Body, cancellationToken);
            if (json.Length > limits.MaxRequestBytes)
            {
                // Kestrel enforces the limit on the wire; this holds where it does not (the in-memory test server).
                throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
            }
            body = JsonSerializer.Deserialize<EmotionJsonRequest>(json.Written.Span, JsonSerializerOptions.Web);
        }
        if (body?.Images is not { Count: > 0 } images)
        {
            return Problems.BadRequest($"No image: send {JsonShape}.");
        }
        if (images.Count > limits.MaxImagesPerRequest)
        {
            return Problems.BadRequest($"{images.Count} images sent; at most {limits.MaxImagesPerRequest} per request.");
        }
        foreach (var image in images)
        {
            uploads.Uploads.Add(DecodeBase64(image, uploads.NewBuffer(budget)));
        }
        return null;
    }

    internal static Upload DecodeBase64(JsonImage? image, UploadBuffer buffer)
    {
        var text = (image?.Data ?? string.Empty).AsSpan().Trim();
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var marker = text.IndexOf(";base64,", StringComparison.OrdinalIgnoreCase);
            if (marker < 0)
            {
                return new Upload(image?.Name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("A data: URI must be base64-encoded (data:<type>;base64,<data>)."));
            }
            text = text[(marker + ";base64,".Length)..];
        }
        if (text.IsEmpty)
        {
            return new Upload(image?.Name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("The image has no 'data'."));
        }
        if (!Convert.TryFromBase64Chars(text, buffer.GetMemory(text.Length / 4 * 3 + 3).Span, out var written))
        {
            return new Upload(image?.Name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("'data' is not valid base64."));
        }
        buffer.Advance(written);
        return new Upload(image?.Name, buffer.Written, null);
    }
}
