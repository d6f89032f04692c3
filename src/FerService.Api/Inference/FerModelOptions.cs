using System.ComponentModel.DataAnnotations;

namespace FerService.Api.Inference;

/// <summary>Section <c>Fer:Models</c>. Relative paths resolve against the app's base directory.</summary>
public sealed class FerModelOptions
{
    public const string Section = "Fer:Models";

    /// <summary>The classifier's model card; the .onnx it names sits beside it.</summary>
    [Required]
    public string ClassifierManifest { get; set; } = "models/emotion-fer2013.json";

    public static string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.Combine(AppContext.BaseDirectory, path);
}

/// <summary>Section <c>Fer:Limits</c>: fixed at start-up.</summary>
public sealed class LimitsOptions
{
    public const string Section = "Fer:Limits";

    [Range(1024, 1L << 31)]
    public long MaxRequestBytes { get; set; } = 20 * 1024 * 1024;

    [Range(1, 1024)]
    public int MaxImagesPerRequest { get; set; } = 32;

    [Range(1, 1_000_000_000)]
    public long MaxPixelsPerImage { get; set; } = 40_000_000;

    [Range(1, 65_535)]
    public int MaxImageSide { get; set; } = 16_384;

    [Range(1, 1000)]
    public int MaxFacesPerImage { get; set; } = 50;
}
