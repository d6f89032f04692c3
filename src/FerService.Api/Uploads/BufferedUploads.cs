using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace FerService.Api.Uploads;

/// <summary>
/// A request's images, read in full before the request is admitted, or the problem that stopped the read. The bytes lie
/// in pooled buffers counted against the <see cref="UploadBudget"/>; disposing hands them back. An endpoint takes it as a
/// parameter: the upload middleware parses the body before admission (a slow client never holds a pipeline slot), and
/// binding hands the endpoint what it parsed.
/// </summary>
internal sealed class BufferedUploads : IDisposable
{
    /// <summary>Minimal APIs' binding hook: the uploads the middleware read for this request.</summary>
    public static ValueTask<BufferedUploads?> BindAsync(HttpContext context) =>
        ValueTask.FromResult<BufferedUploads?>(context.Features.GetRequiredFeature<BufferedUploads>());

    /// <summary>The images in the order they were sent.</summary>
    public int Count => Uploads.Count;

    public Upload this[int index] => Uploads[index];

    private readonly List<UploadBuffer> _buffers = [];

    public List<Upload> Uploads { get; } = [];

    public ProblemDetails? Error { get; set; }

    public UploadBuffer NewBuffer(UploadBudget budget)
    {
        var buffer = new UploadBuffer(budget);
        _buffers.Add(buffer);
        return buffer;
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
        _buffers.Clear();
    }
}
