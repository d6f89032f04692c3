using FerService.Training.Onnx;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>Writes an <see cref="EmotionNet"/> (eval mode) as ONNX: input [batch,1,H,W] float32, output logits [batch,classes].</summary>
internal static class OnnxExporter
{
    public const string InputName = "input";
    public const string OutputName = "logits";

    private const int RunBatch = 256;

    public static byte[] Export(EmotionNet model, int height, int width, int classes)
    {
        var graph = new OnnxGraphBuilder();
        graph.Input(InputName, "batch", 1, height, width);
        var current = InputName;
        foreach (var layer in model.Layers)
        {
            current = FloatLayer(graph, layer, current);
        }
        return Finish(graph, current, classes);
    }

    /// <summary>One layer in float32; returns the name of its output.</summary>
    public static string FloatLayer(OnnxGraphBuilder graph, nn.Module layer, string current) => layer switch
    {
        Conv2d conv => graph.Node("Conv",
            [current, Weights(graph, "conv_w", conv.weight!)],
            graph.Unique("conv"), ConvAttributes),
        BatchNorm2d bn => graph.Node("BatchNormalization",
            [current, Weights(graph, "bn_scale", bn.weight!), Weights(graph, "bn_bias", bn.bias!),
             Weights(graph, "bn_mean", bn.running_mean!), Weights(graph, "bn_var", bn.running_var!)],
            graph.Unique("bn"), ("epsilon", (float)EmotionNet.BatchNormEpsilon)),
        ReLU => graph.Node("Relu", [current], graph.Unique("relu")),
        MaxPool2d => graph.Node("MaxPool", [current], graph.Unique("pool"), PoolAttributes),
        AdaptiveAvgPool2d => graph.Node("GlobalAveragePool", [current], graph.Unique("gap")),
        Flatten => graph.Node("Flatten", [current], graph.Unique("flat"), ("axis", 1L)),
        Dropout => current,
        Linear linear => graph.Node("Gemm",
            [current, Weights(graph, "fc_w", linear.weight!), Weights(graph, "fc_b", linear.bias!)],
            graph.Unique("fc"), ("transB", 1L)),
        _ => throw new NotSupportedException($"Export does not know layer type {layer.GetType().Name}."),
    };

    public static readonly (string, object)[] ConvAttributes =
        [("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }), ("strides", new long[] { 1, 1 })];

    public static readonly (string, object)[] PoolAttributes =
        [("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 })];

    /// <summary>Renames the last value to the public output name with an Identity node and builds the model.</summary>
    public static byte[] Finish(OnnxGraphBuilder graph, string current, int classes)
    {
        graph.Node("Identity", [current], OutputName);
        graph.Output(OutputName, "batch", classes);
        return graph.Build("emotion_fer2013", "FerService.Training");
    }

    public static float[] Values(Tensor tensor)
    {
        using var _ = no_grad();
        return tensor.detach().cpu().contiguous().to_type(ScalarType.Float32).data<float>().ToArray();
    }

    /// <summary>Logits of an ONNX model run by ONNX Runtime (CPU, full graph optimisation) over normalised images.</summary>
    public static float[] Logits(byte[] onnx, Tensor images, int classes, int threads)
    {
        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads };
        using var session = new InferenceSession(onnx, sessionOptions);
        using var runOptions = new RunOptions();
        var count = (int)images.shape[0];
        var pixels = Values(images);
        var perImage = pixels.Length / count;
        var result = new float[count * classes];
        for (var start = 0; start < count; start += RunBatch)
        {
            var length = Math.Min(RunBatch, count - start);
            using var input = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                pixels.AsMemory(start * perImage, length * perImage), [length, .. images.shape[1..]]);
            using var outputs = session.Run(runOptions, [InputName], [input], [OutputName]);
            outputs[0].GetTensorDataAsSpan<float>().CopyTo(result.AsSpan(start * classes));
        }
        return result;
    }

    private static string Weights(OnnxGraphBuilder graph, string prefix, Tensor tensor) =>
        graph.Initializer(graph.Unique(prefix), Values(tensor), tensor.shape);
}
