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
        Span<float> face = stackalloc float[classes];
        foreach (var mirrored in (ReadOnlySpan<bool>)[false, true])
        {
            using (var view = mirrored ? normalisedBatch.flip(3).contiguous() : normalisedBatch.contiguous())
            {
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(view.bytes).CopyTo(_pixels);
            }
            _classifier.ComputeLogits(_pixels.AsMemory(0, length), count, _logits.AsSpan(0, count * classes));
            for (var i = 0; i < count; i++)
            {
                Softmax.Compute(_logits.AsSpan(i * classes, classes), face, temperature);
                for (var c = 0; c < classes; c++)
                {
                    _probabilities[i * classes + c] += face[c] / 2;
                }
            }
        }
        return tensor(_probabilities.AsSpan(0, count * classes).ToArray(), [count, classes]);
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
