using System.ComponentModel.DataAnnotations;

namespace FerService.Api.Video;

/// <summary>Section <c>Fer:Video</c>: video uploads, their limits and the ffmpeg programs that decode them.</summary>
public sealed class VideoOptions
{
    public const string Section = "Fer:Video";

    /// <summary>Most frames per second a request may ask for (<c>fps</c>).</summary>
    public const double MaxFps = 10;

    /// <summary>Largest video upload; the body streams to a temporary file that is deleted when the request ends.</summary>
    [Range(1024, 1L << 34)]
    public long MaxBytes { get; set; } = 200L * 1024 * 1024;

    /// <summary>Longest video accepted (its stated duration); longer ones get 413.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "10:00:00")]
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Frames sampled per second of video when the request names no <c>fps</c>.</summary>
    [Range(0.1, MaxFps)]
    public double DefaultFps { get; set; } = 2;

    /// <summary>Sampled frames are scaled so neither side exceeds this (faces keep the pixels the detector can use).</summary>
    [Range(64, 4096)]
    public int MaxFrameSide { get; set; } = 1280;

    /// <summary>Wall-clock limit of one video's analysis, upload included; past it ffmpeg is stopped and the answer is 504.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "10:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Folder the uploads are stored in while analysed; empty = the system's temporary folder (<c>TMPDIR</c>). When it is
    /// full, the upload gets 503 with <c>Retry-After</c> (docs/reliability.md).
    /// </summary>
    public string TempDirectory { get; set; } = "";

    /// <summary>ffmpeg's program name (searched on PATH) or path.</summary>
    [Required]
    public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>ffprobe's program name (searched on PATH) or path.</summary>
    [Required]
    public string FfprobePath { get; set; } = "ffprobe";
}
