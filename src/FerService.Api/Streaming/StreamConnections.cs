namespace FerService.Api.Streaming;

/// <summary>Open stream connections of this host.</summary>
public sealed class StreamConnections
{
    private int _count;

    public bool TryOpen(int limit)
    {
        if (Interlocked.Increment(ref _count) <= limit)
        {
            return true;
        }
        Interlocked.Decrement(ref _count);
        return false;
    }

    public void Close() => Interlocked.Decrement(ref _count);
}
