using SkiaSharp;

namespace FerService.Tests.Shared;

/// <summary>
/// Images SkiaSharp cannot encode, written byte by byte from their specifications so the tests know exactly what they hold:
/// a CMYK baseline JPEG (ITU T.81 + Adobe APP14) and an animated WebP (RIFF container with ANMF frames).
/// </summary>
internal static class CraftedImages
{
    /// <summary>
    /// An 8×8 flat CMYK JPEG with the Adobe APP14 marker. Values are stored Adobe-style (inverted: 255 = no ink), as
    /// Photoshop writes them, so (255, 0, 0, 255) is red.
    /// </summary>
    public static byte[] CmykJpeg(byte c, byte m, byte y, byte k)
    {
        var output = new List<byte> { 0xFF, 0xD8 };
        Segment(output, 0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]);          // version 100, transform 0: plain CMYK
        var quantisation = new byte[65];                                          // table 0, every step 1
        Array.Fill(quantisation, (byte)1, 1, 64);
        Segment(output, 0xDB, quantisation);
        Segment(output, 0xC0, [8, 0, 8, 0, 8, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]);  // 8×8, 4 components, no subsampling
        Segment(output, 0xC4, [0x00, .. DcLengths, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);        // DC table 0 (Annex K.3)
        Segment(output, 0xC4, [0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00]);    // AC table 0: only EOB, code "0"
        Segment(output, 0xDA, [4, 1, 0x00, 2, 0x00, 3, 0x00, 4, 0x00, 0, 63, 0]);
        var bits = new BitWriter();
        var dcCodes = CanonicalCodes(DcLengths);
        foreach (var value in new[] { c, m, y, k })
        {
            // A flat block has only a DC coefficient: 8 × (value − 128) with unit quantisation; the predictor starts at 0.
            var dc = 8 * (value - 128);
            var category = dc == 0 ? 0 : 32 - int.LeadingZeroCount(Math.Abs(dc));
            bits.Write(dcCodes[category].Code, dcCodes[category].Length);
            if (category > 0)
            {
                bits.Write(dc > 0 ? dc : dc + (1 << category) - 1, category);
            }
            bits.Write(0, 1); // EOB: all AC coefficients zero
        }
        output.AddRange(bits.Finish());
        output.AddRange([0xFF, 0xD9]);
        return [.. output];
    }

    /// <summary>An animated WebP: one <paramref name="side"/>² frame per colour, 100 ms each, looping forever.</summary>
    public static byte[] AnimatedWebP(int side, params SKColor[] frames)
    {
        var body = new List<byte>();
        Chunk(body, "VP8X", [0x02, 0, 0, 0, .. U24(side - 1), .. U24(side - 1)]);   // flags: animation
        Chunk(body, "ANIM", [0, 0, 0, 0, 0, 0]);                                        // background, loop count 0
        foreach (var colour in frames)
        {
            Chunk(body, "ANMF", [.. U24(0), .. U24(0), .. U24(side - 1), .. U24(side - 1), .. U24(100), 0, .. StillBitstream(side, colour)]);
        }
        return [.. "RIFF"u8, .. BitConverter.GetBytes(4 + body.Count), .. "WEBP"u8, .. body];
    }

    private static readonly byte[] DcLengths = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];

    /// <summary>The 'VP8 '/'VP8L' chunk of a still WebP of one colour, as Skia encodes it.</summary>
    private static byte[] StillBitstream(int side, SKColor colour)
    {
        using var bitmap = new SKBitmap(side, side, SKColorType.Rgba8888, SKAlphaType.Opaque);
        bitmap.Erase(colour);
        using var data = bitmap.Encode(SKEncodedImageFormat.Webp, 100);
        var still = data.ToArray();
        for (var at = 12; at + 8 <= still.Length;)
        {
            var size = BitConverter.ToInt32(still, at + 4);
            var fourcc = System.Text.Encoding.ASCII.GetString(still, at, 4);
            if (fourcc is "VP8 " or "VP8L")
            {
                return still[at..(at + 8 + size + (size & 1))];
            }
            at += 8 + size + (size & 1);
        }
        throw new InvalidOperationException("Skia's WebP has no VP8/VP8L chunk.");
    }

    private static void Segment(List<byte> output, byte marker, byte[] payload)
    {
        output.AddRange([0xFF, marker, (byte)((payload.Length + 2) >> 8), (byte)(payload.Length + 2)]);
        output.AddRange(payload);
    }

    private static void Chunk(List<byte> output, string fourcc, byte[] payload)
    {
        output.AddRange(System.Text.Encoding.ASCII.GetBytes(fourcc));
        output.AddRange(BitConverter.GetBytes(payload.Length));
        output.AddRange(payload);
        if ((payload.Length & 1) == 1)
        {
            output.Add(0);
        }
    }

    private static byte[] U24(int value) => [(byte)value, (byte)(value >> 8), (byte)(value >> 16)];

    /// <summary>Canonical Huffman codes (T.81 Annex C) for symbols 0..n−1 from the count of codes per length 1..16.</summary>
    private static (int Code, int Length)[] CanonicalCodes(byte[] lengths)
    {
        var codes = new List<(int, int)>();
        var code = 0;
        for (var length = 1; length <= 16; length++)
        {
            for (var i = 0; i < lengths[length - 1]; i++)
            {
                codes.Add((code++, length));
            }
            code <<= 1;
        }
        return [.. codes];
    }

    /// <summary>Entropy-coded data: bits MSB first, 0xFF stuffed with 0x00, the last byte padded with ones.</summary>
    private sealed class BitWriter
    {
        private readonly List<byte> _bytes = [];
        private int _current;
        private int _used;

        public void Write(int value, int length)
        {
            for (var bit = length - 1; bit >= 0; bit--)
            {
                _current = (_current << 1) | ((value >> bit) & 1);
                if (++_used == 8)
                {
                    Flush();
                }
            }
        }

        public List<byte> Finish()
        {
            while (_used != 0)
            {
                Write(1, 1);
            }
            return _bytes;
        }

        private void Flush()
        {
            _bytes.Add((byte)_current);
            if (_current == 0xFF)
            {
                _bytes.Add(0);
            }
            _current = 0;
            _used = 0;
        }
    }
}
