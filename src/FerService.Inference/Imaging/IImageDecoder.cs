namespace FerService.Inference.Imaging;

internal interface IImageDecoder
{
    /// <summary>
    /// Decodes the first frame to RGBA in displayed orientation. With <paramref name="minLongSide"/> &gt; 0 a format that can
    /// (JPEG, WebP) may decode at a reduced scale whose longer side is still at least that; the image's Source size says so.
    /// </summary>
    /// <exception cref="ImageDecodeException">Unsupported format (415), corrupt data (422) or over the limits (413).</exception>
    RgbaImage Decode(ReadOnlySpan<byte> data, DecodeLimits limits, int minLongSide = 0);
}
