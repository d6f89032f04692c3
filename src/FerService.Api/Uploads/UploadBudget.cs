namespace FerService.Api.Uploads;

/// <summary>
/// Upload bytes buffered at once across all requests (<c>Fer:Limits:MaxBufferedUploadBytes</c>). Buffers reserve what
/// they hold before they grow; a reservation that does not fit fails, and the request gets 503.
/// </summary>
public sealed class UploadBudget(long capacity)
{
    private long _used;

    public long Capacity => capacity;

    public long Used => Volatile.Read(ref _used);

    public bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= capacity)
        {
            return true;
        }
        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);
}
