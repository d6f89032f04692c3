using System.ComponentModel.DataAnnotations;

namespace FerService.Inference.Detection;

/// <summary>Section <c>Fer:Detection</c>.</summary>
public sealed class DetectionOptions
{
    public const string Section = "Fer:Detection";

    /// <summary>YuNet ONNX file (vendored in models/ with its licence).</summary>
    [Required]
    public string ModelPath { get; set; } = "models/yunet_n_dynamic.onnx";

    /// <summary>Default detector threshold; a request's <c>minScore</c> overrides it.</summary>
    [Range(0.01, 0.99)]
    public float MinScore { get; set; } = 0.6f;

    /// <summary>
    /// Default smallest reported face side, in pixels of the photo as sent; a request's <c>minFaceSize</c> overrides it. A
    /// face this small holds too few pixels for an expression, and most such boxes on real photos were background people.
    /// </summary>
    [Range(0, 4096)]
    public float MinFaceSize { get; set; } = 24;

    /// <summary>A request with the defaults: this threshold and smallest face, up to <paramref name="maxFaces"/> faces.</summary>
    public DetectionRequest DefaultRequest(int maxFaces) => new(MinScore, maxFaces, MinFaceSize);

    /// <summary>Overlap (IoU) above which the weaker of two boxes is dropped.</summary>
    [Range(0.05, 0.95)]
    public float IouThreshold { get; set; } = 0.3f;

    /// <summary>
    /// The weaker of two boxes is also dropped when this share of the smaller lies inside the other, whatever their IoU:
    /// a box around part of a large face, or around a face and its surroundings, is the same face again.
    /// </summary>
    [Range(0.1, 1.0)]
    public float NestedOverlap { get; set; } = 0.5f;

    /// <summary>
    /// The photo is shrunk (keeping its shape) so its long side is at most this many pixels before the detector sees it; the
    /// input is padded to multiples of 32. The detector's cost grows with the pixels; it finds faces from about 10 px up in
    /// what it sees.
    /// </summary>
    [Range(64, 4096)]
    public int MaxInputSide { get; set; } = 640;

    /// <summary>
    /// Candidates scoring at least this (below the threshold) that no found face explains get a closer look: a run on the
    /// region around them with the face at about 96 px (a shrunk photo seen at up to full size, a small face enlarged up
    /// to 2×), where it shows the detail the whole view lost. 0 turns closer looks off.
    /// </summary>
    [Range(0.0, 0.99)]
    public float CloserLookScore { get; set; } = 0.3f;

    /// <summary>Most closer looks per photo, strongest candidates first.</summary>
    [Range(0, 32)]
    public int MaxCloserLooks { get; set; } = 4;

    /// <summary>
    /// Reported box = a square of the detector box's geometric-mean side times this, about the same centre. YuNet's boxes run
    /// from the brows to the chin; scaled, they frame the whole face as FER2013's crops do. Calibrated on FER2013 Training scenes.
    /// </summary>
    [Range(0.5, 3.0)]
    public float BoxScale { get; set; } = 1.11f;

    /// <summary>Vertical shift of the reported box centre, as a fraction of its side (negative is up).</summary>
    [Range(-0.5, 0.5)]
    public float BoxShift { get; set; } = -0.017f;

    /// <summary>The same settings with another <see cref="MaxInputSide"/> (the stream's smaller detector input).</summary>
    public DetectionOptions WithMaxInputSide(int side)
    {
        var copy = (DetectionOptions)MemberwiseClone();
        copy.MaxInputSide = side;
        return copy;
    }

    /// <summary>Resolves the model path against the app's base directory (<see cref="Pipeline.FerModelOptions.Resolve"/>).</summary>
    internal void ResolveModelPaths() => ModelPath = Pipeline.FerModelOptions.Resolve(ModelPath);

    /// <summary>A copy with the model path resolved, so a caller's options stay as the caller wrote them.</summary>
    internal DetectionOptions WithResolvedModelPaths()
    {
        var copy = (DetectionOptions)MemberwiseClone();
        copy.ResolveModelPaths();
        return copy;
    }
}
