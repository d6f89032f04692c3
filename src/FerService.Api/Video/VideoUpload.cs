using FerService.Api.Errors;
using FerService.Api.Uploads;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace FerService.Api.Video;

/// <summary>
/// The <c>video</c> part of a multipart upload streamed to a temporary file (ffmpeg needs to seek in MP4 and MOV), which is
/// deleted when this is disposed: nothing written outlives the request.
/// </summary>
internal sealed class VideoUpload : IAsyncDisposable
{
    public const string PartName = "video";

    private readonly FileStream _file;

    private VideoUpload(FileStream file) => _file = file;

    public string Path => _file.Name;

    public long Length => _file.Length;

    /// <summary>The stored upload, or the problem that stopped it (415, 400, 413, 408, 499).</summary>
    public static async Task<(VideoUpload? Upload, ProblemDetails? Error)> ReceiveAsync(HttpRequest request, long maxBytes, TimeSpan timeout,
        CancellationToken cancellationToken)
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
                var upload = new VideoUpload(new FileStream(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"fer-video-{Guid.NewGuid():N}"),
                    FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous));
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

    public ValueTask DisposeAsync() => _file.DisposeAsync();
}
