namespace FerService.Api.Hosting;

/// <summary>
/// Records 503s given to shed load. Refusing work under overload is expected behaviour, not a fault: it is logged as one
/// warning at most every <see cref="ReportInterval"/>, with the count since the last (the request log has them at Debug).
/// </summary>
public sealed partial class LoadShedding(ILogger<LoadShedding> logger)
{
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private long _refused;
    private long _nextReport;

    public void Refused(string reason)
    {
        Interlocked.Increment(ref _refused);
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextReport);
        if (now >= next && Interlocked.CompareExchange(ref _nextReport, now + (long)ReportInterval.TotalMilliseconds, next) == next)
        {
            Log(logger, Interlocked.Exchange(ref _refused, 0), reason, ReportInterval.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shedding load: {Count} requests refused with 503 since the last report, the latest because {Reason} (reported at most every {Seconds} s)")]
    private static partial void Log(ILogger logger, long count, string reason, double seconds);
}
