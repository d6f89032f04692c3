using System.Globalization;
using FerService.Inference.Classification;
using FerService.Tests.Shared;

namespace FerService.Api.Tests;

/// <summary>The README's classifier figures stay equal to the model cards they quote.</summary>
public sealed class ReadmeFigureTests
{
    private const string ClassifierRow = "| classifier on the 48×48 crops, single pass / flip-averaged";

    /// <summary>The README's column heading of each card's figures.</summary>
    private static readonly Dictionary<string, string> CardOfColumn = new(StringComparer.Ordinal)
    {
        ["int8 (default)"] = "emotion-fer2013-int8.json",
        ["float32"] = "emotion-fer2013.json",
    };

    [Fact]
    public void ClassifierTable_EachColumn_EqualsItsCardsPublicTestAccuracy()
    {
        var lines = File.ReadAllLines(Path.Combine(TestPaths.RepositoryRoot, "README.md"));
        var row = Array.FindIndex(lines, line => line.StartsWith(ClassifierRow, StringComparison.Ordinal));
        Assert.True(row >= 2, $"README has no row starting '{ClassifierRow}' under a heading");
        var headings = Cells(lines[row - 2]);
        var figures = Cells(lines[row]);
        Assert.Equal(headings.Length, figures.Length);

        var checkedColumns = 0;
        for (var column = 1; column < headings.Length; column++)
        {
            Assert.True(CardOfColumn.TryGetValue(headings[column], out var cardFile), $"README column '{headings[column]}' names no card this test knows");
            var metrics = ModelManifest.Load(Path.Combine(TestPaths.Models, cardFile)).Metrics!;
            var expected = string.Create(CultureInfo.InvariantCulture, $"{metrics.Accuracy * 100:F2} / {metrics.AccuracyFlipAveraged * 100:F2} %");
            Assert.True(expected == figures[column], $"README's {headings[column]} figures '{figures[column]}', its card {cardFile} says '{expected}'");
            checkedColumns++;
        }
        Assert.Equal(CardOfColumn.Count, checkedColumns);
    }

    private static string[] Cells(string tableLine) =>
        [.. tableLine.Trim().Trim('|').Split('|').Select(cell => cell.Trim())];
}
