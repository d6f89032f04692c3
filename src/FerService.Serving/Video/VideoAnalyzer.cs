using System.Runtime.CompilerServices;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;

namespace FerService.Serving.Video;

/// <summary>
/// A video's sampled frames through the image pipeline (detect, align, batched classify) and one <see cref="FaceTracker"/>,
/// so a person keeps one track id from frame to frame, as on the stream WebSocket.
/// </summary>
public sealed class VideoAnalyzer
{
    /// <summary>What a caller is told when <see cref="IsAvailable"/> is false.</summary>
    public const string UnavailableMessage = "Video analysis needs ffmpeg and ffprobe, which this host does not have (Debian: apt-get install ffmpeg).";

    private readonly FfmpegVideo _ffmpeg;
    private readonly EmotionPipeline _pipeline;

    /// <param name="pipeline">Analyses each sampled frame.</param>
    /// <param name="ffmpegPath">Program name (searched on PATH) or path; located once, here.</param>
    /// <param name="ffprobePath">Program name (searched on PATH) or path; located once, here.</param>
    /// <param name="decoderMemoryCeiling">Address-space ceiling of each decoder process in bytes (Linux); 0 = none.</param>
    public VideoAnalyzer(EmotionPipeline pipeline, string ffmpegPath = "ffmpeg", string ffprobePath = "ffprobe", long decoderMemoryCeiling = 0)
        : this(new FfmpegVideo(ffmpegPath, ffprobePath, decoderMemoryCeiling), pipeline)
    {
    }

    internal VideoAnalyzer(FfmpegVideo ffmpeg, EmotionPipeline pipeline)
    {
        _ffmpeg = ffmpeg;
        _pipeline = pipeline;
    }

    /// <summary>ffmpeg and ffprobe were both found.</summary>
    public bool IsAvailable => _ffmpeg.IsAvailable;

    /// <summary>Sniffs the container and asks ffprobe for the stream's size and duration.</summary>
    /// <exception cref="VideoException">Not a video container (NotVideo), unreadable (Corrupt), no ffmpeg (Unavailable).</exception>
    public async Task<VideoInfo> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        var head = new byte[VideoSniffer.HeaderLength];
        int read;
        using (var file = File.OpenRead(path))
        {
            read = await file.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        }
        var container = VideoSniffer.Detect(head.AsSpan(0, read))
            ?? throw new VideoException(VideoErrorKind.NotVideo, "Not a video: the content is none of MP4, MOV, WebM/Matroska, AVI, Ogg, FLV or MPEG-PS.");
        return await _ffmpeg.ProbeAsync(path, container, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The frames sampled at <paramref name="fps"/>, analysed in order; a frame the decoder rejects is skipped.</summary>
    public async IAsyncEnumerable<VideoFrame> AnalyzeAsync(string path, double fps, int maxSide, AnalysisRequest request, FaceTracker tracker,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var index = 0;
        await foreach (var bytes in _ffmpeg.FramesAsync(path, fps, maxSide, cancellationToken).ConfigureAwait(false))
        {
            ImageAnalysis analysis;
            try
            {
                analysis = await _pipeline.AnalyzeAsync(bytes, request, cancellationToken).ConfigureAwait(false);
            }
            catch (ImageDecodeException)
            {
                index++;
                continue;
            }
            yield return new VideoFrame(index, index / fps, analysis.Width, analysis.Height, tracker.Update(analysis.Faces));
            index++;
        }
    }
}
