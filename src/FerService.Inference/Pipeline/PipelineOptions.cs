namespace FerService.Inference.Pipeline;

/// <summary>Section <c>Fer:Pipeline</c>.</summary>
public sealed class PipelineOptions
{
    public const string Section = "Fer:Pipeline";

    /// <summary>
    /// Classify each face and its mirror image and average the probabilities, for twice the classifier work (small next to
    /// detection). It has raised PublicTest accuracy with every model so far (docs/model-card.md).
    /// </summary>
    public bool FlipAveraging { get; set; } = true;

    /// <summary>
    /// Images decoded, detected and aligned at once across all requests and pipelines (0 = one per core); the others wait
    /// their turn in arrival order. On a CPU-bound box more at once only share the cores: each takes longer, none
    /// finishes sooner, and a large image holds every smaller one back. Classification stays batched across them all.
    /// Each is a thread of its own.
    /// </summary>
    [System.ComponentModel.DataAnnotations.Range(0, 256)]
    public int MaxConcurrentImages { get; set; }

    /// <summary><see cref="MaxConcurrentImages"/> with 0 resolved to the number of cores.</summary>
    public int ConcurrentImages => Onnx.CoreCount.OrMultiple(MaxConcurrentImages, 1);
}
