namespace FerService.Inference.Imaging;

public enum ImageFormat
{
    Unknown,
    Jpeg,
    Png,
    Gif,
    WebP,
    Bmp,
}

/// <summary>Identifies an image by its magic bytes; file names and declared content types are not trusted.</summary>
public static class ImageFormatSniffer
{
    public static ImageFormat Detect(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF)
        {
            return ImageFormat.Jpeg;
        }
        if (data.Length >= 8 && data[..8].SequenceEqual("\x89PNG\r\n\x1a\n"u8))
        {
            return ImageFormat.Png;
        }
        if (data.Length >= 6 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8)))
        {
            return ImageFormat.Gif;
        }
        if (data.Length >= 12 && data[..4].SequenceEqual("RIFF"u8) && data[8..12].SequenceEqual("WEBP"u8))
        {
            return ImageFormat.WebP;
        }
        if (data.Length >= 14 && data[0] == (byte)'B' && data[1] == (byte)'M')
        {
            return ImageFormat.Bmp;
        }
        return ImageFormat.Unknown;
    }
}
