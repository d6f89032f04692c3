using System.Text.Json;
using System.Text.Json.Serialization;

namespace FerService.Inference.Classification;

/// <summary>
/// The model card that ships beside the classifier's .onnx file. The service reads input size,
/// normalisation, labels and temperature from it, so a different model drops in without code changes.
/// </summary>
internal sealed record ModelManifest
{
    public required string Name { get; init; }
    public required string Version { get; init; }
    /// <summary>File name of the ONNX model, relative to the manifest.</summary>
    public required string File { get; init; }
    /// <summary>Lower-case hex sha256 of the ONNX file; the service refuses a file that does not match.</summary>
    public required string Sha256 { get; init; }
    public required ModelInput Input { get; init; }
    public required string OutputName { get; init; }
    /// <summary>Label of each output, in output order.</summary>
    public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>Softmax temperature fitted on the validation split (logits are divided by it).</summary>
    public double Temperature { get; init; } = 1.0;
    public ModelTraining? Training { get; init; }
    public ModelMetrics? Metrics { get; init; }
    /// <summary>When a face's label is flagged as uncertain; absent in older cards (then nothing is flagged).</summary>
    public ModelUncertainty? Uncertainty { get; init; }
    /// <summary>For an ensemble: the models it averages, each as measured alone; absent for a single model.</summary>
    public IReadOnlyList<ModelMember>? Members { get; init; }
    public string? IntendedUse { get; init; }
    public IReadOnlyList<string>? Limitations { get; init; }
    public string? License { get; init; }

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Whether the calibrated probabilities' top value lies under the card's <see cref="ModelUncertainty.Threshold"/>.</summary>
    public bool IsUncertain(ReadOnlySpan<float> probabilities) =>
        Uncertainty is { } uncertainty && probabilities[Softmax.ArgMax(probabilities)] < uncertainty.Threshold;

    public static ModelManifest Load(string path)
    {
        using var stream = System.IO.File.OpenRead(path);
        ModelManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ModelManifest>(stream, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Model manifest '{path}' is not valid JSON: {e.Message}", e);
        }
        if (manifest is null)
        {
            throw new InvalidDataException($"Model manifest '{path}' is empty.");
        }
        manifest.Validate(path);
        return manifest;
    }

    public void Save(string path) =>
        System.IO.File.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions) + "\n");

    private void Validate(string path)
    {
        if (Labels.Count == 0)
        {
            throw new InvalidDataException($"Model manifest '{path}' lists no labels.");
        }
        if (Input.Width <= 0 || Input.Height <= 0 || Input.Channels is not (1 or 3))
        {
            throw new InvalidDataException($"Model manifest '{path}' has an invalid input size or channel count.");
        }
        if (Input.Mean.Count != Input.Channels || Input.Std.Count != Input.Channels)
        {
            throw new InvalidDataException($"Model manifest '{path}': mean and std need one value per channel.");
        }
        foreach (var std in Input.Std)
        {
            if (std <= 0)
            {
                throw new InvalidDataException($"Model manifest '{path}': std must be positive.");
            }
        }
        if (!(Temperature > 0))
        {
            throw new InvalidDataException($"Model manifest '{path}': temperature must be positive.");
        }
    }
}
