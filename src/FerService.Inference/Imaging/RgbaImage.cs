using System.Runtime.InteropServices;

namespace FerService.Inference.Imaging;

/// <summary>
/// Decoded pixels, 4 bytes per pixel in R, G, B, A order (unpremultiplied), rows top to bottom, in
/// displayed orientation. The buffer lives in native memory so SkiaSharp can wrap it without copies
/// or pinning; it is freed on dispose. The pipeline disposes every image it decodes, so the size is not
/// reported to the GC as memory pressure: doing so induced frequent gen-2 collections. The finalizer remains the safety net for an image nobody disposed.
/// </summary>
internal sealed unsafe class RgbaImage : IDisposable
{
    private byte* _pixels;

    public RgbaImage(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        ByteCount = checked(width * height * 4);
        _pixels = (byte*)NativeMemory.Alloc((nuint)ByteCount);
        SourceWidth = width;
        SourceHeight = height;
    }

    ~RgbaImage() => Free();

    public int Width { get; }
    public int Height { get; }
    public int ByteCount { get; }
    public int RowBytes => Width * 4;

    /// <summary>Size of the encoded image (displayed orientation) when it was decoded at a reduced scale; else Width and Height.</summary>
    public int SourceWidth { get; internal set; }
    public int SourceHeight { get; internal set; }

    public Span<byte> Pixels => new((void*)Address, ByteCount);

    public nint Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(_pixels is null, this);
            return (nint)_pixels;
        }
    }

    /// <summary>Wraps 8-bit grey pixels (e.g. a FER2013 row) as an opaque RGBA image.</summary>
    public static RgbaImage FromGrey(ReadOnlySpan<byte> grey, int width, int height)
    {
        if (grey.Length != width * height)
        {
            throw new ArgumentException("Grey buffer does not match the dimensions.", nameof(grey));
        }
        var image = new RgbaImage(width, height);
        var pixels = image.Pixels;
        for (var i = 0; i < grey.Length; i++)
        {
            var v = grey[i];
            pixels[i * 4] = v;
            pixels[i * 4 + 1] = v;
            pixels[i * 4 + 2] = v;
            pixels[i * 4 + 3] = 255;
        }
        return image;
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }

    private void Free()
    {
        if (_pixels is not null)
        {
            NativeMemory.Free(_pixels);
            _pixels = null;
        }
    }
}
