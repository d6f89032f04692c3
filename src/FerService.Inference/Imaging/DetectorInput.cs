using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FerService.Inference.Imaging;

/// <summary>The detector's input from an RGBA image: box-shrinking and bilinear sampling into planar BGR floats.</summary>
internal static class DetectorInput
{
    /// <summary>
    /// The image scaled by <paramref name="scale"/> at the top-left of a <paramref name="columns"/>×<paramref name="rows"/>
    /// NCHW tensor, planes B, G, R in 0–255, zeros where the image does not reach (the padding to whole strides).
    /// </summary>
    internal static void Preprocess(RgbaImage image, float scale, int columns, int rows, Span<float> destination) =>
        Preprocess(image, 0, 0, scale, columns, rows, destination);

    /// <summary>
    /// The part of the image from (<paramref name="originX"/>, <paramref name="originY"/>) on, scaled, as above: a closer
    /// look at a region. Shrinking below half size first averages f×f boxes of the region it shows (what one mipmap level
    /// is, so nothing aliases), then samples bilinearly.
    /// </summary>
    internal static void Preprocess(RgbaImage image, int originX, int originY, float scale, int columns, int rows, Span<float> destination)
    {
        var factor = (int)(1 / scale);
        // The region shown, plus two boxes of margin, so the taps at its edges and their boxes come out as from the whole image.
        var margin = 2 * Math.Max(1, factor);
        var x0 = Math.Clamp(originX - margin, 0, image.Width);
        var y0 = Math.Clamp(originY - margin, 0, image.Height);
        var x1 = (int)Math.Clamp(originX + (long)MathF.Ceiling(columns / scale) + margin, x0, image.Width);
        var y1 = (int)Math.Clamp(originY + (long)MathF.Ceiling(rows / scale) + margin, y0, image.Height);
        var region = image.Pixels[(y0 * image.RowBytes + x0 * 4)..];
        int regionWidth = x1 - x0, regionHeight = y1 - y0;
        if (regionWidth == 0 || regionHeight == 0)
        {
            destination[..(3 * columns * rows)].Clear();
            return;
        }
        if (factor < 2)
        {
            SampleBilinear(region, regionWidth, regionHeight, image.RowBytes, originX - x0, originY - y0, scale, columns, rows, destination);
            return;
        }
        var width = (regionWidth + factor - 1) / factor;
        var height = (regionHeight + factor - 1) / factor;
        // A pooled buffer, not an RgbaImage: its memory-pressure accounting would induce a gen-2 collection every few calls.
        var shrunk = ArrayPool<byte>.Shared.Rent(width * height * 4);
        try
        {
            BoxShrink(region, regionWidth, regionHeight, image.RowBytes, factor, shrunk.AsSpan(0, width * height * 4));
            SampleBilinear(shrunk.AsSpan(0, width * height * 4), width, height, width * 4, (float)(originX - x0) / factor,
                (float)(originY - y0) / factor, scale * factor, columns, rows, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(shrunk);
        }
    }

    /// <summary>Averages factor×factor boxes of RGBA into target (⌈w/f⌉×⌈h/f⌉ pixels); the partial boxes at the right and bottom edges average what they hold.</summary>
    internal static void BoxShrink(RgbaImage image, int factor, Span<byte> target) =>
        BoxShrink(image.Pixels, image.Width, image.Height, image.RowBytes, factor, target);

    /// <summary><see cref="BoxShrink(RgbaImage, int, Span{byte})"/> of a width×height region whose first pixel starts <paramref name="source"/>.</summary>
    internal static void BoxShrink(ReadOnlySpan<byte> source, int width, int height, int rowBytes, int factor, Span<byte> target)
    {
        if (factor == 2)
        {
            HalveBoxes(source, width, height, rowBytes, target);
        }
        else
        {
            AverageBoxes(source, width, height, rowBytes, factor, target);
        }
    }

    /// <summary>
    /// <see cref="BoxShrink(RgbaImage, int, Span{byte})"/> for factor 2 (every 640×480 whole view), with the same rounding: two rows summed straight
    /// into bytes, no per-byte branch. A lone bottom row counts twice and a lone right column once, the same means.
    /// </summary>
    private static void HalveBoxes(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int rowBytes, Span<byte> target)
    {
        var width = (sourceWidth + 1) / 2;
        var height = (sourceHeight + 1) / 2;
        var pairs = sourceWidth / 2;
        // Pixels 0 1 2 3 reordered 0 2 1 3, so widening the low and the high half gives the left and the right pixel of two pairs.
        var pairUp = Vector128.Create((byte)0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15);
        var half = Vector128.Create((ushort)2);
        for (var y = 0; y < height; y++)
        {
            var top = source.Slice(2 * y * rowBytes, sourceWidth * 4);
            var bottom = 2 * y + 1 < sourceHeight ? source.Slice((2 * y + 1) * rowBytes, sourceWidth * 4) : top;
            var output = target.Slice(y * width * 4, width * 4);
            var x = 0;
            if (Vector128.IsHardwareAccelerated)
            {
                // Four output pixels from eight source pixels of each row: the same sums and rounding as below, 16 lanes at once.
                for (; x + 4 <= pairs; x += 4)
                {
                    var a = 8 * x;
                    var left = SumPairs(Vector128.Shuffle(Vector128.Create(top.Slice(a, 16)), pairUp), Vector128.Shuffle(Vector128.Create(bottom.Slice(a, 16)), pairUp));
                    var right = SumPairs(Vector128.Shuffle(Vector128.Create(top.Slice(a + 16, 16)), pairUp), Vector128.Shuffle(Vector128.Create(bottom.Slice(a + 16, 16)), pairUp));
                    Vector128.Narrow(Vector128.ShiftRightLogical(left + half, 2), Vector128.ShiftRightLogical(right + half, 2)).CopyTo(output.Slice(4 * x, 16));
                }
            }
            for (; x < pairs; x++)
            {
                int a = 8 * x, o = 4 * x;
                output[o] = (byte)((top[a] + top[a + 4] + bottom[a] + bottom[a + 4] + 2) >> 2);
                output[o + 1] = (byte)((top[a + 1] + top[a + 5] + bottom[a + 1] + bottom[a + 5] + 2) >> 2);
                output[o + 2] = (byte)((top[a + 2] + top[a + 6] + bottom[a + 2] + bottom[a + 6] + 2) >> 2);
                output[o + 3] = (byte)((top[a + 3] + top[a + 7] + bottom[a + 3] + bottom[a + 7] + 2) >> 2);
            }
            if (width > pairs)
            {
                int a = 8 * pairs, o = 4 * pairs;
                for (var c = 0; c < 4; c++)
                {
                    output[o + c] = (byte)((top[a + c] + bottom[a + c] + 1) >> 1);
                }
            }
        }
    }

    /// <summary>Channel sums of two pixel pairs (reordered as in <see cref="HalveBoxes"/>) over two rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<ushort> SumPairs(Vector128<byte> top, Vector128<byte> bottom) =>
        Vector128.WidenLower(top) + Vector128.WidenUpper(top) + Vector128.WidenLower(bottom) + Vector128.WidenUpper(bottom);

    internal static void AverageBoxes(RgbaImage image, int factor, Span<byte> target) =>
        AverageBoxes(image.Pixels, image.Width, image.Height, image.RowBytes, factor, target);

    /// <summary>
    /// Box means in two passes per output row: the box's source rows summed into 16-bit column sums a vector at a time
    /// (255 × 257 still fits), then each box's columns added as one four-channel vector. Same sums and rounding as a
    /// per-pixel loop; factors above 257 take that loop.
    /// </summary>
    private static void AverageBoxes(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int rowBytes, int factor, Span<byte> target)
    {
        const int MaxColumnRows = ushort.MaxValue / byte.MaxValue;
        if (factor > MaxColumnRows)
        {
            AverageBoxesPerPixel(source, sourceWidth, sourceHeight, rowBytes, factor, target);
            return;
        }
        var width = (sourceWidth + factor - 1) / factor;
        var height = (sourceHeight + factor - 1) / factor;
        var rowLength = sourceWidth * 4;
        var columns = ArrayPool<ushort>.Shared.Rent(rowLength);
        try
        {
            var sums = columns.AsSpan(0, rowLength);
            ref var sumsStart = ref MemoryMarshal.GetReference(sums);
            for (var y = 0; y < height; y++)
            {
                sums.Clear();
                var firstRow = y * factor;
                var endRow = Math.Min(firstRow + factor, sourceHeight);
                for (var sourceY = firstRow; sourceY < endRow; sourceY++)
                {
                    AddRow(source.Slice(sourceY * rowBytes, rowLength), sums);
                }
                var output = target.Slice(y * width * 4, width * 4);
                var rows = endRow - firstRow;
                for (var x = 0; x < width; x++)
                {
                    var first = x * factor;
                    var end = Math.Min(first + factor, sourceWidth);
                    var box = Vector128<uint>.Zero;
                    for (var column = first; column < end; column++)
                    {
                        box += Vector128.WidenLower(Vector128.CreateScalarUnsafe(
                            Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref sumsStart, column * 4)))).AsUInt16());
                    }
                    var count = (uint)(rows * (end - first));
                    var half = count / 2;
                    output[x * 4] = (byte)((box.GetElement(0) + half) / count);
                    output[x * 4 + 1] = (byte)((box.GetElement(1) + half) / count);
                    output[x * 4 + 2] = (byte)((box.GetElement(2) + half) / count);
                    output[x * 4 + 3] = (byte)((box.GetElement(3) + half) / count);
                }
            }
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(columns);
        }
    }

    /// <summary>Adds each byte of <paramref name="row"/> to the 16-bit sum at the same index.</summary>
    private static void AddRow(ReadOnlySpan<byte> row, Span<ushort> sums)
    {
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 16 <= row.Length; i += 16)
            {
                var bytes = Vector128.Create(row.Slice(i, 16));
                (Vector128.Create((ReadOnlySpan<ushort>)sums.Slice(i, 8)) + Vector128.WidenLower(bytes)).CopyTo(sums.Slice(i, 8));
                (Vector128.Create((ReadOnlySpan<ushort>)sums.Slice(i + 8, 8)) + Vector128.WidenUpper(bytes)).CopyTo(sums.Slice(i + 8, 8));
            }
        }
        for (; i < row.Length; i++)
        {
            sums[i] += row[i];
        }
    }

    /// <summary>The per-pixel box average, for factors whose column sums could overflow 16 bits.</summary>
    private static void AverageBoxesPerPixel(ReadOnlySpan<byte> source, int sourceWidth, int sourceHeight, int rowBytes, int factor, Span<byte> target)
    {
        var width = (sourceWidth + factor - 1) / factor;
        var height = (sourceHeight + factor - 1) / factor;
        for (var y = 0; y < height; y++)
        {
            var firstRow = y * factor;
            var endRow = Math.Min(firstRow + factor, sourceHeight);
            for (var x = 0; x < width; x++)
            {
                var firstColumn = x * factor;
                var endColumn = Math.Min(firstColumn + factor, sourceWidth);
                var count = (endRow - firstRow) * (endColumn - firstColumn);
                for (var c = 0; c < 4; c++)
                {
                    long sum = 0;
                    for (var sourceY = firstRow; sourceY < endRow; sourceY++)
                    {
                        for (var sourceX = firstColumn; sourceX < endColumn; sourceX++)
                        {
                            sum += source[sourceY * rowBytes + sourceX * 4 + c];
                        }
                    }
                    target[(y * width + x) * 4 + c] = (byte)((sum + count / 2) / count);
                }
            }
        }
    }

    /// <summary>
    /// Bilinear sampling onto black, as a canvas draw would give: output pixel centres map through the scale to source
    /// pixels (edges clamped), pixels outside the image are 0, alpha is composited onto black; planes B, G, R in 0–255. The
    /// four channels of a tap go through the arithmetic as one vector, in the order a per-channel loop would use, so the
    /// floats are the same to the bit; the taps are clamped onto the image, which is checked once, not per read.
    /// </summary>
    internal static void SampleBilinear(ReadOnlySpan<byte> pixels, int width, int height, float scale, int columns, int rows,
        Span<float> destination) =>
        SampleBilinear(pixels, width, height, width * 4, 0, 0, scale, columns, rows, destination);

    /// <summary>As above, with input pixel (0, 0) at source (<paramref name="offsetX"/>, <paramref name="offsetY"/>), rows <paramref name="stride"/> bytes apart.</summary>
    internal static void SampleBilinear(ReadOnlySpan<byte> pixels, int width, int height, int stride, float offsetX, float offsetY, float scale,
        int columns, int rows, Span<float> destination)
    {
        var plane = columns * rows;
        ArgumentOutOfRangeException.ThrowIfLessThan(pixels.Length, stride * (height - 1) + width * 4, nameof(pixels));
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, 3 * plane, nameof(destination));
        Span<int> x0 = stackalloc int[columns];
        Span<int> x1 = stackalloc int[columns];
        Span<float> fx = stackalloc float[columns];
        Span<bool> inside = stackalloc bool[columns];
        Taps(offsetX, scale, width, x0, x1, fx, inside);
        Span<int> y0 = stackalloc int[rows];
        Span<int> y1 = stackalloc int[rows];
        Span<float> fy = stackalloc float[rows];
        Span<bool> rowInside = stackalloc bool[rows];
        Taps(offsetY, scale, height, y0, y1, fy, rowInside);
        const float ToByte = 1f / 255f;
        ref var image = ref MemoryMarshal.GetReference(pixels);
        var blue = destination[..plane];
        var green = destination.Slice(plane, plane);
        var red = destination.Slice(2 * plane, plane);
        for (var v = 0; v < rows; v++)
        {
            var row = v * columns;
            if (!rowInside[v])
            {
                blue.Slice(row, columns).Clear();
                green.Slice(row, columns).Clear();
                red.Slice(row, columns).Clear();
                continue;
            }
            ref var top = ref Unsafe.Add(ref image, y0[v] * stride);
            ref var bottom = ref Unsafe.Add(ref image, y1[v] * stride);
            var wy = fy[v];
            for (var u = 0; u < columns; u++)
            {
                var o = row + u;
                if (!inside[u])
                {
                    blue[o] = green[o] = red[o] = 0;
                    continue;
                }
                int a = x0[u] * 4, b = x1[u] * 4;
                var wx = fx[u];
                // Alpha-weighted taps: a transparent pixel adds black, as when drawn over the black background.
                float w00 = (1 - wx) * (1 - wy) * Unsafe.Add(ref top, a + 3), w01 = wx * (1 - wy) * Unsafe.Add(ref top, b + 3);
                float w10 = (1 - wx) * wy * Unsafe.Add(ref bottom, a + 3), w11 = wx * wy * Unsafe.Add(ref bottom, b + 3);
                var value = (w00 * Rgba(ref top, a) + w01 * Rgba(ref top, b) + w10 * Rgba(ref bottom, a) + w11 * Rgba(ref bottom, b)) * ToByte;
                red[o] = value.GetElement(0);
                green[o] = value.GetElement(1);
                blue[o] = value.GetElement(2);
            }
        }
    }

    /// <summary>The RGBA bytes at <paramref name="offset"/> as four floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Rgba(ref byte row, int offset) =>
        Vector128.ConvertToSingle(Vector128.WidenLower(Vector128.WidenLower(
            Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref row, offset))).AsByte())).AsInt32());

    /// <summary>Per output column (or row): the two source taps, the weight of the second, and whether it lies on the image.</summary>
    private static void Taps(float offset, float scale, int length, Span<int> first, Span<int> second, Span<float> weight, Span<bool> inside)
    {
        for (var i = 0; i < first.Length; i++)
        {
            var position = offset + (i + 0.5f) / scale;
            inside[i] = position >= 0 && position < length;
            var source = Math.Clamp(position - 0.5f, 0f, length - 1);
            var floor = (int)source;
            first[i] = floor;
            second[i] = Math.Min(floor + 1, length - 1);
            weight[i] = source - floor;
        }
    }
}
