namespace FerService.Inference.Classification;

/// <summary>Input tensor spec: NCHW float32; pixel value v in 0..255 becomes (v * Scale - Mean[c]) / Std[c].</summary>
internal sealed record ModelInput
{
    public required string Name { get; init; }
    /// <summary>Shape with -1 for the dynamic batch dimension.</summary>
    public required IReadOnlyList<long> Shape { get; init; }
    /// <summary>Only NCHW; layout and shape are checked against the model when it loads.</summary>
    public string Layout { get; init; } = "NCHW";
    /// <summary>1 = grey (ITU-R BT.601 luma), 3 = RGB.</summary>
    public required int Channels { get; init; }
    public required int Width { get; init; }
    public required int Height { get; init; }
    public double Scale { get; init; } = 1.0 / 255.0;
    public required IReadOnlyList<double> Mean { get; init; }
    public required IReadOnlyList<double> Std { get; init; }
    /// <summary>How a face is cropped for this model: the square side is this many times the detector's box side.</summary>
    public double FaceCropScale { get; init; } = 1.0;
}
