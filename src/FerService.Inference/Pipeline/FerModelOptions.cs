using System.ComponentModel.DataAnnotations;

namespace FerService.Inference.Pipeline;

/// <summary>Section <c>Fer:Models</c>. Relative paths resolve against the app's base directory.</summary>
public sealed class FerModelOptions
{
    public const string Section = "Fer:Models";

    /// <summary>
    /// The classifier's model card; the .onnx it names sits beside it. The int8 twin by default: several times faster than the
    /// float model it was quantised from and close to it in accuracy (docs/decisions/int8-classifier.md; the float card:
    /// models/emotion-fer2013.json).
    /// </summary>
    [Required]
    public string ClassifierManifest { get; set; } = "models/emotion-fer2013-int8.json";

    public static string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.Combine(AppContext.BaseDirectory, path);
}
