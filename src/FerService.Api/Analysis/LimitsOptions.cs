using System.ComponentModel.DataAnnotations;
using FerService.Inference.Onnx;

namespace FerService.Api.Analysis;

/// <summary>Section <c>Fer:Limits</c>: fixed at start-up.</summary>
public sealed class LimitsOptions
{
    public const string Section = "Fer:Limits";

    [Range(1024, 1L << 31)]
    public long MaxRequestBytes { get; set; } = 20 * 1024 * 1024;

    [Range(1, 1024)]
    public int MaxImagesPerRequest { get; set; } = 32;

    [Range(1, 1_000_000_000)]
    public long MaxPixelsPerImage { get; set; } = 40_000_000;

    [Range(1, 1000)]
    public int MaxFacesPerImage { get; set; } = 50;

    /// <summary>
    /// Requests to /api processed at once (0: four times the processor count); more wait in a queue (0: eight times the
    /// processor count), and past that get 503. Decode and detection are CPU-bound, so admitting far more than the cores
    /// can run only turns overload into queueing latency; twice the cores left some idle while every admitted image waited
    /// on the classifier (docs/decisions/threads.md).
    /// </summary>
    [Range(0, 10_000)]
    public int MaxConcurrentRequests { get; set; }

    [Range(0, 100_000)]
    public int MaxQueuedRequests { get; set; }

    public int ConcurrentRequests => CoreCount.OrMultiple(MaxConcurrentRequests, 4);

    public int QueuedRequests => CoreCount.OrMultiple(MaxQueuedRequests, 8);

    /// <summary>
    /// Upload bytes buffered at once across all requests (0: a quarter of the GC heap limit, or of the memory the GC
    /// may use when no limit is set). Buffers grow with what arrives, not with what Content-Length declares; a request
    /// whose next buffer would not fit gets 503 with Retry-After. Buffers grow by doubling, so a part of n bytes can hold
    /// up to 3n while it grows: keep this at least 3 × <see cref="MaxRequestBytes"/>.
    /// </summary>
    [Range(0, long.MaxValue)]
    public long MaxBufferedUploadBytes { get; set; }

    public long BufferedUploadBytes => MaxBufferedUploadBytes > 0 ? MaxBufferedUploadBytes : GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4;

    /// <summary>A request to /api still running after this gets 504 and its queued work is cancelled.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>On SIGTERM: readiness turns 503, new connections are refused, in-flight requests get this long to finish.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
