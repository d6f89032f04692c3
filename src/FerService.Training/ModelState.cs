using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>A net's weights and BatchNorm statistics as detached tensors: copied, restored, released, averaged.</summary>
internal static class ModelState
{
    public static void Copy(EmotionNet source, EmotionNet destination)
    {
        var state = Clone(source);
        Load(destination, state);
        Release(state);
    }

    public static Dictionary<string, Tensor> Clone(EmotionNet model)
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, value) in model.state_dict())
        {
            state[name] = value.detach().contiguous().clone();
        }
        return state;
    }

    public static void Load(EmotionNet model, Dictionary<string, Tensor> state)
    {
        using var _ = no_grad();
        foreach (var (name, value) in model.state_dict())
        {
            value.copy_(state[name]);
        }
    }

    public static void Release(Dictionary<string, Tensor>? state)
    {
        if (state is null)
        {
            return;
        }
        foreach (var value in state.Values)
        {
            value.Dispose();
        }
    }

    /// <summary>Moves <paramref name="ema"/> towards <paramref name="model"/>: an exponential moving average of weights and BN statistics.</summary>
    public static void UpdateAverage(EmotionNet model, EmotionNet ema, double decay)
    {
        using var _ = no_grad();
        foreach (var (average, current) in ema.parameters().Zip(model.parameters()))
        {
            average.mul_(decay).add_(current.detach(), alpha: 1 - decay);
        }
        foreach (var (average, current) in ema.buffers().Zip(model.buffers()))
        {
            if (average.is_floating_point())
            {
                average.mul_(decay).add_(current, alpha: 1 - decay);
            }
            else
            {
                average.copy_(current);
            }
        }
    }
}
