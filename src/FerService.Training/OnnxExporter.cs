using FerService.Training.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>Writes an <see cref="EmotionNet"/> (eval mode) as ONNX: input [batch,1,H,W] float32, output logits [batch,classes].</summary>
internal static class OnnxExporter
{
    public const string InputName = "input";
    public const string OutputName = "logits";

    public static byte[] Export(EmotionNet model, int height, int width, int classes)
    {
        var graph = new OnnxGraphBuilder();
        graph.Input(InputName, "batch", 1, height, width);
        var current = InputName;
        foreach (var layer in model.Layers)
        {
            current = layer switch
            {
                Conv2d conv => graph.Node("Conv",
                    [current, Weights(graph, "conv_w", conv.weight!)],
                    graph.Unique("conv"),
                    ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { 1, 1 })),
                BatchNorm2d bn => graph.Node("BatchNormalization",
                    [current, Weights(graph, "bn_scale", bn.weight!), Weights(graph, "bn_bias", bn.bias!),
                     Weights(graph, "bn_mean", bn.running_mean!), Weights(graph, "bn_var", bn.running_var!)],
                    graph.Unique("bn"), ("epsilon", (float)EmotionNet.BatchNormEpsilon)),
                ReLU => graph.Node("Relu", [current], graph.Unique("relu")),
                MaxPool2d => graph.Node("MaxPool", [current], graph.Unique("pool"),
                    ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 })),
                AdaptiveAvgPool2d => graph.Node("GlobalAveragePool", [current], graph.Unique("gap")),
                Flatten => graph.Node("Flatten", [current], graph.Unique("flat"), ("axis", 1L)),
                Dropout => current,
                Linear linear => graph.Node("Gemm",
                    [current, Weights(graph, "fc_w", linear.weight!), Weights(graph, "fc_b", linear.bias!)],
                    graph.Unique("fc"), ("transB", 1L)),
                _ => throw new NotSupportedException($"Export does not know layer type {layer.GetType().Name}."),
            };
        }
        // Rename the last value to the public output name with an Identity node.
        graph.Node("Identity", [current], OutputName);
        graph.Output(OutputName, "batch", classes);
        return graph.Build("emotion_fer2013", "FerService.Training");
    }

    private static string Weights(OnnxGraphBuilder graph, string prefix, Tensor tensor)
    {
        using var _ = no_grad();
        var values = tensor.detach().cpu().contiguous().to_type(ScalarType.Float32).data<float>().ToArray();
        return graph.Initializer(graph.Unique(prefix), values, tensor.shape);
    }
}
