using System.Text.Json;
using FerService.Inference.Classification;

namespace FerService.Inference;

/// <summary>
/// What a caller needs of the classifier's model card: its identity, its labels and when a label is uncertain. The whole
/// card (training, metrics per class, members, intended use, limitations) is <see cref="Document"/>, as the file says it.
/// </summary>
public sealed class ModelCard
{
    private readonly ModelManifest _manifest;

    internal ModelCard(ModelManifest manifest)
    {
        _manifest = manifest;
        Document = JsonSerializer.SerializeToElement(manifest, ModelManifest.JsonOptions);
    }

    public string Name => _manifest.Name;

    public string Version => _manifest.Version;

    /// <summary>Lower-case hex sha256 of the ONNX file, checked when it was loaded.</summary>
    public string Sha256 => _manifest.Sha256;

    /// <summary>Label of each probability, in output order.</summary>
    public IReadOnlyList<string> Labels => _manifest.Labels;

    /// <summary>The calibrated top probability under which a face is flagged uncertain; null when the card sets none.</summary>
    public double? UncertaintyThreshold => _manifest.Uncertainty?.Threshold;

    /// <summary>The whole card as JSON (the service's <c>GET /api/model</c> answer).</summary>
    public JsonElement Document { get; }

    /// <summary>Whether the calibrated probabilities' top value lies under <see cref="UncertaintyThreshold"/>.</summary>
    public bool IsUncertain(ReadOnlySpan<float> probabilities) => _manifest.IsUncertain(probabilities);
}
