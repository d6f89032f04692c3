using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace FerService.Evaluation;

/// <summary>
/// Reads the original FER2013 CSV (<c>emotion,pixels,Usage</c>), plain or gzip-compressed.
/// Only the requested usages are kept, so a caller that never asks for PrivateTest never holds it.
/// </summary>
public static class Fer2013Reader
{
    public const int ClassCount = 7;

    public static readonly IReadOnlyList<string> Labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];

    /// <summary>Where a user puts the data, in the order they are tried (the seed's convention first).</summary>
    public static readonly IReadOnlyList<string> DefaultLocations =
    [
        "data/fer2013.csv",
        "data/fer2013.csv.gz",
        "data/fer2013/fer2013.csv",
        "data/fer2013/fer2013.csv.gz",
        "data/fer2013/fer2013-train-publictest.csv.gz",
    ];

    public static string? FindDefault(string root = ".")
    {
        foreach (var candidate in DefaultLocations)
        {
            var path = Path.Combine(root, candidate);
            if (File.Exists(path))
            {
                return path;
            }
        }
        return null;
    }

    public static TextReader OpenText(string path)
    {
        Stream stream = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }
        return new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
    }

    /// <summary>
    /// The data lines of a CSV file (gzip or plain) after a header <paramref name="isHeader"/> accepts: blank lines skipped,
    /// each with its 1-based line number and its 0-based data row (the row number FER2013 and FER+ files share).
    /// </summary>
    public static IEnumerable<(int LineNumber, int DataRow, string Line)> DataLines(string path, string expectedHeader, Func<string, bool> isHeader)
    {
        using var reader = OpenText(path);
        var header = reader.ReadLine() ?? throw new Fer2013FormatException($"{path}: the file is empty.");
        if (!isHeader(header))
        {
            throw new Fer2013FormatException($"{path}:1: expected the header '{expectedHeader}', found '{Truncate(header)}'.");
        }
        var lineNumber = 1;
        var dataRow = -1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length > 0)
            {
                yield return (lineNumber, ++dataRow, line);
            }
        }
    }

    /// <summary>Reads the rows whose Usage is in <paramref name="usages"/> (null = every row), grouped by usage.</summary>
    public static IReadOnlyDictionary<string, Fer2013Split> Read(string path, IReadOnlyCollection<string>? usages, int maxRowsPerUsage = int.MaxValue)
    {
        var pixels = new Dictionary<string, List<byte>>(StringComparer.Ordinal);
        var labels = new Dictionary<string, List<byte>>(StringComparer.Ordinal);
        var rows = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var buffer = new byte[Fer2013Split.PixelCount];
        foreach (var (lineNumber, dataRow, line) in DataLines(path, "emotion,pixels,Usage",
            static header => header.Trim().Equals("emotion,pixels,Usage", StringComparison.OrdinalIgnoreCase)))
        {
            var span = line.AsSpan().TrimEnd('\r');
            var firstComma = span.IndexOf(',');
            var lastComma = span.LastIndexOf(',');
            if (firstComma < 0 || lastComma == firstComma || span[(firstComma + 1)..lastComma].Contains(','))
            {
                throw new Fer2013FormatException($"{path}:{lineNumber}: expected 3 columns (emotion,pixels,Usage).");
            }
            var usage = span[(lastComma + 1)..].Trim().ToString();
            if (usages is not null && !usages.Contains(usage))
            {
                continue;
            }
            if (!labels.TryGetValue(usage, out var usageLabels))
            {
                usageLabels = labels[usage] = [];
                pixels[usage] = new List<byte>(capacity: 4096 * Fer2013Split.PixelCount);
                rows[usage] = [];
            }
            if (usageLabels.Count >= maxRowsPerUsage)
            {
                continue;
            }
            if (!int.TryParse(span[..firstComma], NumberStyles.None, CultureInfo.InvariantCulture, out var emotion) || emotion is < 0 or >= ClassCount)
            {
                throw new Fer2013FormatException($"{path}:{lineNumber}: emotion '{Truncate(span[..firstComma].ToString())}' is not an integer 0..6.");
            }
            ParsePixels(span[(firstComma + 1)..lastComma], buffer, path, lineNumber);
            usageLabels.Add((byte)emotion);
            pixels[usage].AddRange(buffer);
            rows[usage].Add(dataRow);
        }

        var result = new Dictionary<string, Fer2013Split>(StringComparer.Ordinal);
        foreach (var (usage, usageLabels) in labels)
        {
            result[usage] = new Fer2013Split(usage, [.. pixels[usage]], [.. usageLabels], [.. rows[usage]]);
        }
        return result;
    }

    private static void ParsePixels(ReadOnlySpan<char> text, Span<byte> destination, string path, int lineNumber)
    {
        var count = 0;
        var value = -1;
        foreach (var c in text)
        {
            if (c is >= '0' and <= '9')
            {
                value = (value < 0 ? 0 : value * 10) + (c - '0');
                if (value > 255)
                {
                    throw new Fer2013FormatException($"{path}:{lineNumber}: pixel {count + 1} is out of range 0..255.");
                }
            }
            else if (c == ' ')
            {
                if (value >= 0)
                {
                    Store(ref count, ref value, destination, path, lineNumber);
                }
            }
            else
            {
                throw new Fer2013FormatException($"{path}:{lineNumber}: pixel {count + 1} contains '{c}', expected digits separated by spaces.");
            }
        }
        if (value >= 0)
        {
            Store(ref count, ref value, destination, path, lineNumber);
        }
        if (count != Fer2013Split.PixelCount)
        {
            throw new Fer2013FormatException($"{path}:{lineNumber}: expected {Fer2013Split.PixelCount} pixels, found {count}.");
        }
    }

    private static void Store(ref int count, ref int value, Span<byte> destination, string path, int lineNumber)
    {
        if (count >= destination.Length)
        {
            throw new Fer2013FormatException($"{path}:{lineNumber}: more than {Fer2013Split.PixelCount} pixels.");
        }
        destination[count++] = (byte)value;
        value = -1;
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
