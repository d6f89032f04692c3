using System.Text.Json;
using FerService.Inference.Classification;
using FerService.Inference.Detection;

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

    /// <summary>
    /// The one place probabilities become a label: the most probable class (the first on a tie), its probability and
    /// the card's uncertainty flag. The library, the service's JSON, the stream, video and annotated images all read it.
    /// </summary>
    public EmotionLabel Label(ReadOnlySpan<float> probabilities)
    {
        var top = Classification.Softmax.ArgMax(probabilities);
        return new EmotionLabel(top, Labels[top], probabilities[top], IsUncertain(probabilities));
    }

    /// <summary>A face with its class probabilities (calibrated, in label order) read as <see cref="Label"/> reads them.</summary>
    public FaceEmotion Face(BoxF box, float score, FaceLandmarks? landmarks, float[] probabilities)
    {
        var label = Label(probabilities);
        var named = new Dictionary<string, float>(Labels.Count);
        for (var c = 0; c < Labels.Count; c++)
        {
            named[Labels[c]] = probabilities[c];
        }
        return new FaceEmotion(box, score, landmarks, label.Emotion, label.Confidence, label.Uncertain, named) { ClassProbabilities = probabilities };
    }

    /// <summary>
    /// Flip averaging: the face's probabilities and its mirror image's, averaged into <paramref name="face"/>; the library
    /// and the service's batched path both use this, so both give the same answer for the same crop.
    /// </summary>
    public static void AverageWithMirror(Span<float> face, ReadOnlySpan<float> mirrored)
    {
        for (var c = 0; c < face.Length; c++)
        {
            face[c] = (face[c] + mirrored[c]) / 2;
        }
    }
}
