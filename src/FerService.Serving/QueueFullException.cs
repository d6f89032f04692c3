namespace FerService.Serving;

/// <summary>The classifier queue holds <see cref="BatchingOptions.QueueCapacity"/> crops already; the caller should shed the request.</summary>
public sealed class QueueFullException : Exception
{
    public QueueFullException() : base("The classification queue is full.") { }
    public QueueFullException(string message) : base(message) { }
    public QueueFullException(string message, Exception innerException) : base(message, innerException) { }
}
