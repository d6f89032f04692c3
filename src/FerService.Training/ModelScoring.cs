using FerService.Evaluation;
using FerService.Inference.Classification;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>A TorchSharp net's logits and accuracy on normalised faces, in eval mode and batches of <see cref="Batch"/>.</summary>
internal static class ModelScoring
{
    public const int Batch = 512;
    private const int Classes = Fer2013Reader.ClassCount;

    public static double Accuracy(EmotionNet model, Tensor images, Tensor labels)
    {
        var logits = Logits(model, images);
        var count = (int)labels.shape[0];
        var labelValues = labels.data<long>().ToArray();
        var correct = 0;
        for (var i = 0; i < count; i++)
        {
            correct += Softmax.ArgMax(logits.AsSpan(i * Classes, Classes)) == labelValues[i] ? 1 : 0;
        }
        return (double)correct / count;
    }

    public static float[] Logits(EmotionNet model, Tensor images)
    {
        model.eval();
        using var _ = no_grad();
        var count = images.shape[0];
        var result = new float[count * Classes];
        for (long start = 0; start < count; start += Batch)
        {
            using var scope = NewDisposeScope();
            var length = Math.Min(Batch, count - start);
            var values = model.forward(images.narrow(0, start, length)).contiguous().data<float>().ToArray();
            values.CopyTo(result, (int)(start * Classes));
        }
        return result;
    }
}
