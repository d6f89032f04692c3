using System.Globalization;

namespace FerService.Training.Scenes;

/// <summary>
/// Where the service's face crop lies on one FER2013 face: the crop's side over the face square's side and its centre's
/// offset from the square's centre, in square sides (x right, y down). <c>framing</c> writes them; <c>train --framing</c>
/// reads them.
/// </summary>
internal readonly record struct FaceFraming(int Row, double Scale, double ShiftX, double ShiftY)
{
    private const string Header = "row,scale,shiftX,shiftY";

    /// <summary>The aligner's crop is the box's longer side, centred on the box (a crop scale of 1).</summary>
    public static FaceFraming FromBox(int row, Inference.Detection.BoxF box, int faceSide) => new(row,
        Math.Max(box.Width, box.Height) / faceSide, (box.CenterX - faceSide / 2.0) / faceSide, (box.CenterY - faceSide / 2.0) / faceSide);

    public static void Write(string path, IEnumerable<FaceFraming> framings)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine(Header);
        foreach (var f in framings)
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{f.Row},{f.Scale:F4},{f.ShiftX:F4},{f.ShiftY:F4}"));
        }
    }

    /// <summary>
    /// One entry per row of the split (null where the detector found no face), from a file <see cref="Write"/> wrote;
    /// lines for rows past <paramref name="rows"/> (a run on the first rows only) are counted in <paramref name="beyond"/>.
    /// </summary>
    public static FaceFraming?[] Read(string path, int rows, out int beyond)
    {
        beyond = 0;
        var framings = new FaceFraming?[rows];
        using var reader = new StreamReader(path);
        if (reader.ReadLine() != Header)
        {
            throw new InvalidDataException($"{path}: not a framing file (its first line must be '{Header}').");
        }
        var lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var fields = line.Split(',');
            if (fields.Length != 4
                || !int.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var row)
                || !double.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var scale)
                || !double.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var shiftX)
                || !double.TryParse(fields[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var shiftY)
                || scale <= 0 || !double.IsFinite(scale) || !double.IsFinite(shiftX) || !double.IsFinite(shiftY))
            {
                throw new InvalidDataException($"{path}:{lineNumber}: expected 'row,scale,shiftX,shiftY' with a positive scale, found '{line}'.");
            }
            if (row < 0)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: row {row} is negative.");
            }
            if (row >= rows)
            {
                beyond++;
                continue;
            }
            framings[row] = new FaceFraming(row, scale, shiftX, shiftY);
        }
        return framings;
    }
}
