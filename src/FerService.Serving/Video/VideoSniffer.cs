namespace FerService.Serving.Video;

/// <summary>
/// Recognises video containers by their first bytes, never by name: ffmpeg reads far more than video (images, playlists,
/// raw streams), so only these containers are handed to it.
/// </summary>
internal static class VideoSniffer
{
    public const int HeaderLength = 12;

    /// <summary>The container's name, or null when the bytes start no video container this service reads.</summary>
    public static string? Detect(ReadOnlySpan<byte> head)
    {
        if (head.Length >= 12 && head.Slice(4, 4).SequenceEqual("ftyp"u8))
        {
            return head.Slice(8, 2).SequenceEqual("qt"u8) ? "mov" : "mp4";
        }
        if (head.Length >= 8 && (head.Slice(4, 4).SequenceEqual("moov"u8) || head.Slice(4, 4).SequenceEqual("mdat"u8)
            || head.Slice(4, 4).SequenceEqual("wide"u8)))
        {
            return "mov";
        }
        if (head.Length >= 4 && head[..4].SequenceEqual((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3]))
        {
            return "matroska/webm";
        }
        if (head.Length >= 12 && head[..4].SequenceEqual("RIFF"u8) && head.Slice(8, 4).SequenceEqual("AVI "u8))
        {
            return "avi";
        }
        if (head.Length >= 4 && head[..4].SequenceEqual("OggS"u8))
        {
            return "ogg";
        }
        if (head.Length >= 3 && head[..3].SequenceEqual("FLV"u8))
        {
            return "flv";
        }
        if (head.Length >= 4 && head[..4].SequenceEqual((ReadOnlySpan<byte>)[0x00, 0x00, 0x01, 0xBA]))
        {
            return "mpeg-ps";
        }
        return null;
    }
}
