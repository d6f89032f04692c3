using Microsoft.Extensions.Options;

namespace FerService.Api.Video;

/// <summary>
/// Admission to the decoders: at most <see cref="VideoOptions.DecodersAtOnce"/> videos are decoded at once, so the
/// decoders' memory is bounded whatever arrives; up to <see cref="VideoOptions.VideosQueued"/> more wait in arrival
/// order (their uploads on disk, not in memory), and the rest are refused.
/// </summary>
internal sealed class VideoDecoders(IOptions<VideoOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.DecodersAtOnce, options.Value.DecodersAtOnce);
    private readonly int _queueCapacity = options.Value.VideosQueued;
    private int _waiting;

    /// <summary>A decoder slot, released when disposed; null at once when the queue is full.</summary>
    public async Task<IDisposable?> EnterAsync(CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            if (Interlocked.Increment(ref _waiting) > _queueCapacity)
            {
                Interlocked.Decrement(ref _waiting);
                return null;
            }
            try
            {
                await _slots.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    private sealed class Slot(SemaphoreSlim slots) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                slots.Release();
            }
        }
    }
}
