using FerService.Inference.Classification;
using FerService.Inference.Onnx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// An earlier exported classifier whose softened predictions on each augmented training batch become part of the
/// target (knowledge distillation): it runs through ONNX Runtime, as the service runs it, on the same normalised
/// pixels the student sees, flip-averaged as the service's FlipAveraging does.
/// </summary>
internal sealed class DistillationTeacher : IDisposable
{
    private readonly EmotionClassifier _classifier;
    private float[] _pixels = [];
    private float[] _logits = [];
    private float[] _probabilities = [];

    public DistillationTeacher(string modelPath, int threads)
    {
        // No spinning: the teacher's threads would otherwise keep the cores busy while TorchSharp trains.
        var onnx = new OnnxOptions { IntraOpThreads = threads, IntraOpSpinning = false };
        _classifier = new EmotionClassifier(Path.ChangeExtension(modelPath, ".json"),
            new OnnxSessionFactory(Options.Create(onnx), NullLogger<OnnxSessionFactory>.Instance));
    }

    public ModelManifest Manifest => _classifier.Manifest;

    /// <summary>Class probabilities at <paramref name="temperature"/> for a [count,1,H,W] batch, averaged with its mirror image.</summary>
    public Tensor Probabilities(Tensor normalisedBatch, double temperature)
    {
        var count = (int)normalisedBatch.shape[0];
        var classes = _classifier.Manifest.Labels.Count;
        var length = (int)normalisedBatch.numel();
        EnsureLength(ref _pixels, length);
        EnsureLength(ref _logits, count * classes);
        EnsureLength(ref _probabilities, count * classes);
        Array.Clear(_probabilities, 0, count * classes);
        foreach (var mirrored in (ReadOnlySpan<bool>)[false, true])
        {
            using (var view = mirrored ? normalisedBatch.flip(3).contiguous() : normalisedBatch.contiguous())
            {
                // One block copy: the element-wise TensorAccessor copy took longer than the teacher's run.
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(view.bytes).CopyTo(_pixels);
            }
            _classifier.ComputeLogits(_pixels.AsMemory(0, length), count, _logits.AsSpan(0, count * classes));
            AddSoftmax(_logits.AsSpan(0, count * classes), classes, (float)(1 / temperature), 0.5f, _probabilities);
        }
        return tensor(_probabilities.AsSpan(0, count * classes).ToArray(), [count, classes]);
    }

    /// <summary>Adds weight × softmax(logits × inverseTemperature) of each row to <paramref name="sums"/>.</summary>
    internal static void AddSoftmax(ReadOnlySpan<float> logits, int classes, float inverseTemperature, float weight, Span<float> sums)
    {
        for (var row = 0; row < logits.Length; row += classes)
        {
            var scores = logits.Slice(row, classes);
            var max = float.NegativeInfinity;
            foreach (var score in scores)
            {
                max = MathF.Max(max, score);
            }
            var total = 0f;
            foreach (var score in scores)
            {
                total += MathF.Exp((score - max) * inverseTemperature);
            }
            for (var c = 0; c < classes; c++)
            {
                sums[row + c] += weight * MathF.Exp((scores[c] - max) * inverseTemperature) / total;
            }
        }
    }

    private static void EnsureLength(ref float[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new float[length];
        }
    }

    public void Dispose() => _classifier.Dispose();
}
