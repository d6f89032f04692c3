using FerService.Training.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// Static int8 quantisation of an <see cref="EmotionNet"/> in ONNX's QDQ form, which ONNX Runtime's CPU provider
/// turns into QLinearConv (uint8 activations × int8 weights; VNNI where the CPU has it). Each BatchNorm is folded
/// into its conv first; weights are 7-bit values in int8, symmetric, one scale per output channel; each conv block's ReLU output
/// is uint8 with zero point 0, so the ReLU disappears into the quantiser, over the range seen on calibration
/// images. Max-pooling runs on the uint8 values; global pooling and the small MLP head stay float32.
/// </summary>
internal static class Int8Exporter
{
    private const int Batch = 256;

    /// <summary>
    /// Weights use ±63, not ±127: without VNNI, x86 multiplies uint8 × int8 with VPMADDUBSW, which adds two products in
    /// int16 and saturates when 255 × |w| twice exceeds 32,767. With |w| ≤ 63 no pair can (2 × 255 × 64 = 32,640), so the
    /// model computes the same on every CPU. See docs/decisions/int8-classifier.md.
    /// </summary>
    public const int WeightLimit = 63;

    /// <summary>The largest ReLU output of each conv block, in layer order, over the (normalised) images.</summary>
    public static float[] Calibrate(EmotionNet model, Tensor images)
    {
        model.eval();
        using var _ = no_grad();
        var maxima = new List<float>();
        for (long start = 0; start < images.shape[0]; start += Batch)
        {
            using var scope = NewDisposeScope();
            var x = images.narrow(0, start, Math.Min(Batch, images.shape[0] - start));
            var block = 0;
            nn.Module? previous = null;
            foreach (var layer in model.Layers)
            {
                x = ((nn.Module<Tensor, Tensor>)layer).forward(x);
                if (layer is ReLU && previous is BatchNorm2d)
                {
                    var max = x.max().item<float>();
                    if (block == maxima.Count)
                    {
                        maxima.Add(max);
                    }
                    maxima[block] = Math.Max(maxima[block], max);
                    block++;
                }
                previous = layer;
            }
        }
        return [.. maxima];
    }

    /// <param name="activationMaxima">From <see cref="Calibrate"/>.</param>
    /// <param name="mean">The card's normalisation: the input is a grey level in [0, 1], normalised, so 256 levels cover it.</param>
    /// <param name="std">The card's normalisation.</param>
    public static byte[] Export(EmotionNet model, int height, int width, int classes, float[] activationMaxima, double mean, double std)
    {
        var graph = new OnnxGraphBuilder();
        graph.Input(OnnxExporter.InputName, "batch", 1, height, width);
        var low = (float)(-mean / std);
        var scale = (float)(1 / std) / 255f;
        var current = QuantizeDequantize(graph, OnnxExporter.InputName, scale, (byte)Math.Clamp(Math.Round(-low / scale), 0, 255));

        var layers = model.Layers.ToList();
        var block = 0;
        for (var i = 0; i < layers.Count; i++)
        {
            if (layers[i] is Conv2d conv && i + 2 < layers.Count && layers[i + 1] is BatchNorm2d bn && layers[i + 2] is ReLU)
            {
                var relu = graph.Node("Relu", [QuantizedConv(graph, conv, bn, current, scale)], graph.Unique("relu"));
                scale = Math.Max(activationMaxima[block++], 1e-6f) / 255f;
                current = QuantizeDequantize(graph, relu, scale, 0);
                i += 2;
            }
            else if (layers[i] is MaxPool2d && block > 0)
            {
                // DequantizeLinear → MaxPool → QuantizeLinear with the same parameters: ONNX Runtime pools the uint8 values.
                var pooled = graph.Node("MaxPool", [current], graph.Unique("pool"), OnnxExporter.PoolAttributes);
                current = QuantizeDequantize(graph, pooled, scale, 0);
            }
            else
            {
                current = OnnxExporter.FloatLayer(graph, layers[i], current);
            }
        }
        if (block != activationMaxima.Length)
        {
            throw new ArgumentException($"{activationMaxima.Length} activation ranges for {block} conv blocks.", nameof(activationMaxima));
        }
        return OnnxExporter.Finish(graph, current, classes);
    }

    private static string QuantizeDequantize(OnnxGraphBuilder graph, string value, float scale, byte zeroPoint)
    {
        var scaleName = graph.Initializer(graph.Unique("scale"), new[] { scale });
        var zeroName = graph.Initializer(graph.Unique("zero"), new[] { zeroPoint });
        var quantized = graph.Node("QuantizeLinear", [value, scaleName, zeroName], graph.Unique("q"));
        return graph.Node("DequantizeLinear", [quantized, scaleName, zeroName], graph.Unique("dq"));
    }

    /// <summary>Conv with BatchNorm folded in, weights 7-bit per output channel, bias int32 at input scale × weight scale.</summary>
    private static string QuantizedConv(OnnxGraphBuilder graph, Conv2d conv, BatchNorm2d bn, string input, float inputScale)
    {
        var weights = OnnxExporter.Values(conv.weight!);
        var gamma = OnnxExporter.Values(bn.weight!);
        var beta = OnnxExporter.Values(bn.bias!);
        var runningMean = OnnxExporter.Values(bn.running_mean!);
        var runningVar = OnnxExporter.Values(bn.running_var!);
        var convBias = conv.bias is null ? new float[gamma.Length] : OnnxExporter.Values(conv.bias);
        var channels = gamma.Length;
        var perChannel = weights.Length / channels;

        var quantizedWeights = new sbyte[weights.Length];
        var weightScales = new float[channels];
        var quantizedBias = new int[channels];
        var biasScales = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var factor = gamma[c] / MathF.Sqrt(runningVar[c] + (float)EmotionNet.BatchNormEpsilon);
            var channelWeights = weights.AsSpan(c * perChannel, perChannel);
            var maxAbs = 0f;
            foreach (ref var w in channelWeights)
            {
                w *= factor;
                maxAbs = Math.Max(maxAbs, Math.Abs(w));
            }
            weightScales[c] = maxAbs > 0 ? maxAbs / WeightLimit : 1f;
            for (var k = 0; k < perChannel; k++)
            {
                quantizedWeights[c * perChannel + k] = (sbyte)Math.Clamp(MathF.Round(channelWeights[k] / weightScales[c]), -WeightLimit, WeightLimit);
            }
            biasScales[c] = inputScale * weightScales[c];
            var bias = beta[c] + (convBias[c] - runningMean[c]) * factor;
            quantizedBias[c] = (int)Math.Clamp(Math.Round(bias / (double)biasScales[c]), int.MinValue, int.MaxValue);
        }

        var weightName = graph.Node("DequantizeLinear",
            [graph.Initializer(graph.Unique("conv_wq"), quantizedWeights, conv.weight!.shape),
             graph.Initializer(graph.Unique("conv_w_scale"), weightScales, channels),
             graph.Initializer(graph.Unique("conv_w_zero"), new sbyte[channels], channels)],
            graph.Unique("conv_w"), ("axis", 0L));
        var biasName = graph.Node("DequantizeLinear",
            [graph.Initializer(graph.Unique("conv_bq"), quantizedBias, channels),
             graph.Initializer(graph.Unique("conv_b_scale"), biasScales, channels),
             graph.Initializer(graph.Unique("conv_b_zero"), new int[channels], channels)],
            graph.Unique("conv_b"), ("axis", 0L));
        return graph.Node("Conv", [input, weightName, biasName], graph.Unique("conv"), OnnxExporter.ConvAttributes);
    }
}
