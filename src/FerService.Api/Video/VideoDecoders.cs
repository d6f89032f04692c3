using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace FerService.Api.Video;

/// <summary>
/// Admission to the decoders: at most <see cref="VideoOptions.DecodersAtOnce"/> videos are decoded at once, so the
/// decoders' memory is bounded whatever arrives; up to <see cref="VideoOptions.VideosQueued"/> more wait in arrival
/// order (their uploads on disk, not in memory), and the rest are refused. The same limiter as the requests' back-pressure.
/// </summary>
internal sealed class VideoDecoders(IOptions<VideoOptions> options) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.DecodersAtOnce,
        QueueLimit = options.Value.VideosQueued,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>A decoder slot, released when disposed; null at once when the queue is full.</summary>
    public async Task<IDisposable?> EnterAsync(CancellationToken cancellationToken)
    {
        var lease = await _limiter.AcquireAsync(1, cancellationToken);
        if (lease.IsAcquired)
        {
            return lease;
        }
        lease.Dispose();
        return null;
    }

    public void Dispose() => _limiter.Dispose();
}
