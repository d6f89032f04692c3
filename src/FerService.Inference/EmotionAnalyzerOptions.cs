using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;

namespace FerService.Inference;

/// <summary>
/// What <see cref="EmotionAnalyzer.Create"/> builds; every default is the service's. Relative model paths resolve against
/// the app's base directory, where the package (or a project reference) puts the models.
/// </summary>
public sealed class EmotionAnalyzerOptions
{
    /// <summary>The classifier's model card; the .onnx it names sits beside it.</summary>
    public string ClassifierManifest { get; set; } = new FerModelOptions().ClassifierManifest;

    public DetectionOptions Detection { get; set; } = new();

    public OnnxOptions Onnx { get; set; } = new();

    /// <summary>Flip averaging.</summary>
    public PipelineOptions Pipeline { get; set; } = new();

    public DecodeLimits Limits { get; set; } = DecodeLimits.Default;
}
