namespace FerService.Inference.Classification;

internal sealed record ModelMetrics
{
    public string Split { get; init; } = "PublicTest";
    public int Count { get; init; }
    public double Accuracy { get; init; }
    public double AccuracyFlipAveraged { get; init; }
    public double MacroF1 { get; init; }
    public IReadOnlyList<ClassMetrics>? PerClass { get; init; }
    /// <summary>Rows = true label, columns = predicted label, both in label order.</summary>
    public IReadOnlyList<IReadOnlyList<int>>? ConfusionMatrix { get; init; }
    public double NllBeforeCalibration { get; init; }
    public double NllAfterCalibration { get; init; }
    /// <summary>Expected calibration error with 15 equal-width confidence bins.</summary>
    public double EceBeforeCalibration { get; init; }
    public double EceAfterCalibration { get; init; }
}
