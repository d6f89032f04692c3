using System.ComponentModel.DataAnnotations;

namespace FerService.Api.Streaming;

/// <summary>Section <c>Fer:Stream</c>: the video WebSocket's limits and tracking.</summary>
public sealed class StreamOptions
{
    public const string Section = "Fer:Stream";

    [Range(1024, 64 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 4 * 1024 * 1024;

    [Range(1, 10_000)]
    public int MaxConnections { get; set; } = 16;

    /// <summary>A connection that sends no complete frame for this long is closed (a frame stalled halfway counts too).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Weight of the track's history in its probabilities (0 = raw per-frame results).</summary>
    [Range(0.0, 0.95)]
    public float Smoothing { get; set; } = 0.6f;

    /// <summary>
    /// Long side of what the detector sees of a stream frame (0 = the service's <c>Fer:Detection:MaxInputSide</c>). Webcam
    /// faces fill a good part of the frame, so a smaller input finds them at a fraction of the cost.
    /// </summary>
    [Range(0, 4096)]
    public int DetectorMaxInputSide { get; set; } = 320;
}
