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

    /// <summary>
    /// The photo is shrunk (keeping its shape) so its long side is at most this many pixels before the detector sees it; the
    /// input is padded to multiples of 32. The detector's cost grows with the pixels; it finds faces from about 10 px up in
    /// what it sees.
    /// </summary>
    [Range(64, 4096)]
    public int MaxInputSide { get; set; } = 640;

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
