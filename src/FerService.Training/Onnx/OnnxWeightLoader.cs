using FerService.Inference.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FerService.Training.Onnx;

/// <summary>
/// Loads the float initializers of a model written by <see cref="OnnxExporter.Export"/> back into an
/// <see cref="EmotionNet"/> of the same architecture: the exporter writes them in layer order (conv weight; BatchNorm
/// scale, bias, mean, variance; linear weight, bias), so they are taken in that order and each shape is checked.
/// </summary>
internal static class OnnxWeightLoader
{
    public static void Load(EmotionNet model, IReadOnlyList<OnnxInitializer> initializers)
    {
        var next = 0;
        using var _ = no_grad();
        foreach (var layer in model.Layers)
        {
            Tensor[] targets = layer switch
            {
                Conv2d conv => [conv.weight!],
                BatchNorm2d bn => [bn.weight!, bn.bias!, bn.running_mean!, bn.running_var!],
                Linear linear => [linear.weight!, linear.bias!],
                _ => [],
            };
            foreach (var target in targets)
            {
                if (next >= initializers.Count)
                {
                    throw new InvalidDataException($"The model has fewer weights than the architecture '{model.Spec}' needs.");
                }
                var source = initializers[next++];
                if (!source.Dims.AsSpan().SequenceEqual(target.shape))
                {
                    throw new InvalidDataException(
                        $"Initializer '{source.Name}' has shape [{string.Join(',', source.Dims)}], the architecture '{model.Spec}' expects [{string.Join(',', target.shape)}].");
                }
                target.copy_(tensor(source.Floats.ToArray(), target.shape));
            }
        }
        if (next != initializers.Count)
        {
            throw new InvalidDataException($"The model has {initializers.Count - next} weights more than the architecture '{model.Spec}' needs.");
        }
    }
}
