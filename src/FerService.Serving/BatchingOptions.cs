using System.ComponentModel.DataAnnotations;

namespace FerService.Serving;

/// <summary>Section <c>Fer:Batching</c>.</summary>
public sealed class BatchingOptions
{
    public const string Section = "Fer:Batching";

    /// <summary>Most crops classified in one session run.</summary>
    [Range(1, 512)]
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>How long the worker waits for more crops once it holds at least one.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan MaxBatchDelay { get; set; } = TimeSpan.FromMilliseconds(2);

    /// <summary>
    /// Crops waiting for the worker; beyond it callers get <see cref="QueueFullException"/>. Not a setting: the request and
    /// image limits keep the queue far below it; it is the last guard. Tests make it small.
    /// </summary>
    internal int QueueCapacity { get; init; } = 4096;
}
