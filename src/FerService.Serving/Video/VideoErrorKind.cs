namespace FerService.Serving.Video;

/// <summary>Why a video could not be analysed; each maps to one HTTP status.</summary>
public enum VideoErrorKind
{
    /// <summary>Not a container ffmpeg is asked to read (415).</summary>
    NotVideo,
    /// <summary>A video container that cannot be read through: truncated, damaged, no video stream (422).</summary>
    Corrupt,
    /// <summary>No ffmpeg/ffprobe on this host (503).</summary>
    Unavailable,
    /// <summary>The decoder died (a signal, out of memory, a failure after some frames): the server's fault, not the file's (502).</summary>
    DecoderFailed,
}
