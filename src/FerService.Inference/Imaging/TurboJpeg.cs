using System.Runtime.InteropServices;

namespace FerService.Inference.Imaging;

/// <summary>
/// JPEG pixels through the system's TurboJPEG (libjpeg-turbo with its SIMD kernels), where one is installed. SkiaSharp's
/// bundled libjpeg-turbo is built without SIMD; the decoded bytes are the same either way (see
/// docs/decisions/jpeg-decoding.md). Anything TurboJPEG declines or warns about is left to SkiaSharp, so errors and
/// odd files (CMYK, truncated data) behave as before.
/// </summary>
internal static unsafe partial class TurboJpeg
{
    private const string Library = "libturbojpeg.so.0";
    private const int PixelFormatRgba = 7;
    /// <summary>TJFLAG_STOPONWARNING: a truncated or damaged stream fails instead of coming back grey.</summary>
    private const int StopOnWarning = 8192;

    private static readonly Lazy<bool> Loaded = new(Load);

    /// <summary>Whether the library was found; where it is, JPEG pixels come from it.</summary>
    public static bool IsAvailable => Loaded.Value;

    /// <summary>
    /// Decodes into <paramref name="destination"/> as RGBA at <paramref name="width"/>×<paramref name="height"/> (the
    /// source size or one of its DCT scalings). False when TurboJPEG is absent or declines the stream.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> jpeg, Span<byte> destination, int width, int height, int rowBytes)
    {
        if (!IsAvailable || width <= 0 || height <= 0 || rowBytes < width * 4 || destination.Length < (long)rowBytes * height)
        {
            return false;
        }
        var handle = tjInitDecompress();
        if (handle == 0)
        {
            return false;
        }
        try
        {
            fixed (byte* source = jpeg)
            fixed (byte* target = destination)
            {
                return tjDecompress2(handle, source, (nuint)jpeg.Length, target, width, rowBytes, height, PixelFormatRgba, StopOnWarning) == 0;
            }
        }
        finally
        {
            _ = tjDestroy(handle);
        }
    }

    private static bool Load()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        // Kept loaded: the imports below resolve against it.
        return NativeLibrary.TryLoad(Library, typeof(TurboJpeg).Assembly, null, out _);
    }

    [LibraryImport(Library)]
    private static partial nint tjInitDecompress();

    [LibraryImport(Library)]
    private static partial int tjDecompress2(nint handle, byte* jpegBuf, nuint jpegSize, byte* dstBuf, int width, int pitch, int height,
        int pixelFormat, int flags);

    [LibraryImport(Library)]
    private static partial int tjDestroy(nint handle);
}
