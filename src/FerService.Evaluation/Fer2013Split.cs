namespace FerService.Evaluation;

/// <summary>One split of FER2013: 48×48 grey faces, one byte per pixel, row-major.</summary>
public sealed class Fer2013Split
{
    public const int Side = 48;
    public const int PixelCount = Side * Side;

    public Fer2013Split(string usage, byte[] pixels, byte[] labels, int[] rowNumbers)
    {
        Usage = usage;
        Pixels = pixels;
        Labels = labels;
        RowNumbers = rowNumbers;
    }

    public string Usage { get; }

    /// <summary>Count × 2,304 grey values.</summary>
    public byte[] Pixels { get; }

    /// <summary>0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.</summary>
    public byte[] Labels { get; }

    /// <summary>Zero-based data-row position in the file (header excluded), to align FER+ votes.</summary>
    public int[] RowNumbers { get; }

    public int Count => Labels.Length;

    public ReadOnlySpan<byte> Image(int index) => Pixels.AsSpan(index * PixelCount, PixelCount);
}
