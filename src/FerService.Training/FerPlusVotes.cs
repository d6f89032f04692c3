using System.Globalization;
using FerService.Evaluation;

namespace FerService.Training;

/// <summary>
/// FER+ annotator votes (Barsoum et al. 2016), one row per FER2013 row in file order, mapped to the
/// FER2013 label order. Contempt, unknown and not-a-face votes have no FER2013 class and are dropped.
/// </summary>
internal static class FerPlusVotes
{
    // FER+ columns after Usage and Image name: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
    private static readonly int[] ToFer2013 = [6, 3, 5, 4, 0, 1, 2, -1, -1, -1];

    /// <summary>Vote distributions (7 per row, summing to 1, or all zero where no usable vote) for the given data rows.</summary>
    public static float[] Read(string path, Fer2013Split split)
    {
        var byRow = new Dictionary<int, int>(split.Count);
        for (var i = 0; i < split.Count; i++)
        {
            byRow[split.RowNumbers[i]] = i;
        }
        var result = new float[split.Count * Fer2013Reader.ClassCount];
        foreach (var (lineNumber, dataRow, line) in Fer2013Reader.DataLines(path, "Usage,Image name,neutral,…",
            static header => header.StartsWith("Usage,Image name,neutral", StringComparison.Ordinal)))
        {
            if (!byRow.TryGetValue(dataRow, out var index))
            {
                continue;
            }
            var columns = line.Split(',');
            if (columns.Length != 12)
            {
                throw new Fer2013FormatException($"{path}:{lineNumber}: expected 12 columns, found {columns.Length}.");
            }
            if (columns[0] != split.Usage)
            {
                throw new Fer2013FormatException($"{path}:{lineNumber}: usage '{columns[0]}' does not match the FER2013 row's '{split.Usage}'; the files are not aligned.");
            }
            var target = result.AsSpan(index * Fer2013Reader.ClassCount, Fer2013Reader.ClassCount);
            float total = 0;
            for (var k = 0; k < ToFer2013.Length; k++)
            {
                if (ToFer2013[k] < 0)
                {
                    continue;
                }
                var votes = int.Parse(columns[k + 2], NumberStyles.None, CultureInfo.InvariantCulture);
                target[ToFer2013[k]] = votes;
                total += votes;
            }
            for (var c = 0; c < target.Length; c++)
            {
                target[c] = total > 0 ? target[c] / total : 0;
            }
        }
        return result;
    }
}
