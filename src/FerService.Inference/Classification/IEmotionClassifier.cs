namespace FerService.Inference.Classification;

internal interface IEmotionClassifier
{
    ModelManifest Manifest { get; }

    /// <summary>Runs <paramref name="count"/> crops (NCHW floats) in one session run and writes raw logits (count × labels).</summary>
    void ComputeLogits(ReadOnlyMemory<float> crops, int count, Span<float> logits);
}
