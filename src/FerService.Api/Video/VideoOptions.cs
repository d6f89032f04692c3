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
    public const double DefaultFps = 2;

    /// <summary>Sampled frames are scaled so neither side exceeds this (faces keep the pixels the detector can use).</summary>
    [Range(64, 4096)]
    public int MaxFrameSide { get; set; } = 1280;

    /// <summary>
    /// Largest frame decoded, in pixels (width × height as ffprobe states them): a decoder's memory grows with it (one
    /// 8192×4320 H.264 stream took about 220 MiB), so larger videos get 413 before ffmpeg starts. Default 4096×2160.
    /// </summary>
    [Range(4096, 1L << 30)]
    public long MaxPixelsPerFrame { get; set; } = 4096L * 2160;

    /// <summary>Videos decoded at once across all requests; <c>0</c> = one per core. The rest wait (see <see cref="MaxQueuedVideos"/>).</summary>
    [Range(0, 1024)]
    public int MaxConcurrentDecoders { get; set; }

    /// <summary>Videos that wait for a decoder; beyond them 503 with <c>Retry-After</c>. <c>0</c> = 8 per core.</summary>
    [Range(0, 65536)]
    public int MaxQueuedVideos { get; set; }

    /// <summary>
    /// Address-space ceiling of each ffmpeg and ffprobe process in MiB (Linux <c>RLIMIT_AS</c>), the last line of defence
    /// against a stream that needs more than its pixels say; <c>0</c> = none. ffmpeg maps about 300 MiB of libraries before
    /// it decodes anything, so values under 512 refuse ordinary videos.
    /// </summary>
    [Range(0, 1 << 20)]
    public int DecoderMemoryLimitMiB { get; set; } = 768;

    /// <summary>Wall-clock limit of one video's analysis, upload included; past it ffmpeg is stopped and the answer is 504.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "10:00:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Folder the uploads are stored in while analysed; empty = the system's temporary folder (<c>TMPDIR</c>). When it is
    /// full, the upload gets 503 with <c>Retry-After</c> (docs/reliability.md).
    /// </summary>
    public string TempDirectory { get; set; } = "";

    /// <summary><see cref="MaxConcurrentDecoders"/> with <c>0</c> resolved.</summary>
    public int DecodersAtOnce => MaxConcurrentDecoders > 0 ? MaxConcurrentDecoders : Environment.ProcessorCount;

    /// <summary><see cref="MaxQueuedVideos"/> with <c>0</c> resolved.</summary>
    public int VideosQueued => MaxQueuedVideos > 0 ? MaxQueuedVideos : 8 * Environment.ProcessorCount;

    /// <summary>ffmpeg's program name (searched on PATH) or path; ffprobe is taken from the same folder.</summary>
    [Required]
    public string FfmpegPath { get; set; } = "ffmpeg";

    /// <summary>ffprobe beside <see cref="FfmpegPath"/>: the two come from one package everywhere.</summary>
    public string FfprobePath => Path.GetDirectoryName(FfmpegPath) is { Length: > 0 } folder ? Path.Combine(folder, "ffprobe") : "ffprobe";
}
