namespace FerService.Inference.Imaging;

/// <summary>Limits checked against the image header before any pixel memory is allocated.</summary>
public sealed record DecodeLimits(long MaxPixels, int MaxSide)
{
    public static readonly DecodeLimits Default = new(40_000_000, 16_384);
}
