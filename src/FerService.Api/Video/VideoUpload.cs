using FerService.Api.Errors;
using FerService.Api.Hosting;
using FerService.Api.Uploads;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace FerService.Api.Video;

/// <summary>
/// The <c>video</c> part of a multipart upload streamed to a temporary file (ffmpeg needs to seek in MP4 and MOV), which is
/// deleted when this is disposed: nothing written outlives the request.
/// </summary>
internal sealed partial class VideoUpload : IAsyncDisposable
{
    public const string PartName = "video";

    private readonly FileStream _file;

    private VideoUpload(FileStream file) => _file = file;

    public string Path => _file.Name;

    public long Length => _file.Length;

    /// <summary>Seconds a client is asked to wait when the temporary folder is full: other uploads end and free their space.</summary>
    public const int FullDiskRetrySeconds = 5;

    /// <summary>
    /// The stored upload, or the problem that stopped it (415, 400, 413, 408, 499; 503 when <paramref name="files"/> has no
    /// space left, with the file removed).
    /// </summary>
    public static async Task<(VideoUpload? Upload, ProblemDetails? Error)> ReceiveAsync(HttpRequest request, VideoFiles files, long maxBytes,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
        {
            return (null, Problems.UnsupportedMediaType($"Send the video as multipart/form-data with a part named '{PartName}'."));
        }
        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = maxBytes };
        try
        {
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !string.Equals(HeaderUtilities.RemoveQuotes(disposition.Name).Value, PartName, StringComparison.Ordinal))
                {
                    continue;
                }
                var upload = new VideoUpload(files.Create());
                try
                {
                    await section.Body.CopyToAsync(upload._file, cancellationToken);
                    await upload._file.FlushAsync(cancellationToken);
                    if (upload.Length == 0)
                    {
                        await upload.DisposeAsync();
                        return (null, Problems.BadRequest($"The '{PartName}' part is empty."));
                    }
                    return (upload, null);
                }
                catch
                {
                    await upload.DisposeAsync();
                    throw;
                }
            }
            return (null, Problems.BadRequest($"No multipart part named '{PartName}' was sent."));
        }
        catch (IOException e) when (VideoFiles.IsOutOfSpace(e))
        {
            // The server's fault, and a passing one: the space other uploads hold is freed as their requests end.
            var context = request.HttpContext;
            LogOutOfSpace(context.RequestServices.GetRequiredService<ILogger<VideoUpload>>(), files.Directory,
                context.Response.Headers[TelemetryExtensions.RequestIdHeader].ToString());
            context.Response.Headers.RetryAfter = FullDiskRetrySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return (null, Problems.Create(StatusCodes.Status503ServiceUnavailable, "Insufficient storage",
                $"The server has no space left to store the video while it is analysed; retry after {FullDiskRetrySeconds} s."));
        }
        catch (InvalidDataException e) when (e.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
        {
            return (null, Problems.TooLarge($"The video is larger than {maxBytes:N0} bytes."));
        }
        // The rest as for image uploads (a cut body, Kestrel's limits, malformed parts); the deadline stays the caller's (504).
        catch (Exception e) when (e is not OperationCanceledException
            && UploadReader.Problem(e, request, maxBytes, timeout, budget: null, cancellationToken) is { } problem)
        {
            return (null, problem);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _file.DisposeAsync();
        }
        catch (IOException e) when (VideoFiles.IsOutOfSpace(e))
        {
            // Flushing the last buffered bytes onto a full disk: the handle is closed, and the file deleted, all the same.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No space left in {Directory} to store a video upload; answered 503 (request {RequestId}), its file removed")]
    private static partial void LogOutOfSpace(ILogger logger, string directory, string requestId);
}
