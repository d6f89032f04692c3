using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// bf16 mixed precision by hand (TorchSharp has no autocast): a bf16 copy of the network runs forward and backward,
/// while the fp32 master keeps the weights, the optimiser state and the BatchNorm layers (fp32 in the copy too, so
/// their running statistics keep full precision). Measured here on AVX512-BF16 CPUs: conv training ~1.6× faster.
/// </summary>
internal sealed class BFloat16Shadow : IDisposable
{
    private readonly EmotionNet shadow;
    private readonly Parameter[] masterParameters;
    private readonly Parameter[] shadowParameters;
    private readonly Tensor[] masterBuffers;
    private readonly Tensor[] shadowBuffers;

    public BFloat16Shadow(EmotionNet master, Func<EmotionNet> newModel)
    {
        shadow = newModel();
        shadow.to(ScalarType.BFloat16);
        foreach (var layer in shadow.Layers)
        {
            if (layer is BatchNorm2d batchNorm)
            {
                batchNorm.to(ScalarType.Float32);
            }
        }
        masterParameters = [.. master.parameters()];
        shadowParameters = [.. shadow.parameters()];
        masterBuffers = [.. master.buffers()];
        shadowBuffers = [.. shadow.buffers()];
        CopyAll(masterBuffers, shadowBuffers);
    }

    /// <summary>Training-mode forward pass with the master's current weights; returns fp32 logits.</summary>
    public Tensor Forward(Tensor batch)
    {
        CopyAll(masterParameters, shadowParameters);
        shadow.train();
        return shadow.forward(batch.to(ScalarType.BFloat16)).to(ScalarType.Float32);
    }

    /// <summary>After backward(): hands the gradients and the updated BatchNorm statistics to the master.</summary>
    public void CollectGradients()
    {
        for (var i = 0; i < masterParameters.Length; i++)
        {
            masterParameters[i].grad = shadowParameters[i].grad!.to(ScalarType.Float32);
        }
        CopyAll(shadowBuffers, masterBuffers);
        shadow.zero_grad();
    }

    /// <summary>Element-wise copy between the two nets' matching tensors; copy_ converts the dtype.</summary>
    private static void CopyAll(Tensor[] from, Tensor[] to)
    {
        using var _ = no_grad();
        for (var i = 0; i < from.Length; i++)
        {
            to[i].copy_(from[i]);
        }
    }

    public void Dispose() => shadow.Dispose();
}
