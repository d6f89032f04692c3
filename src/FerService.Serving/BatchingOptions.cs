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

    /// <summary>Crops waiting for the worker; beyond it callers get <see cref="QueueFullException"/>.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 4096;
}
