using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace FerService.Training;

/// <summary>
/// VGG-style classifier: 3×3 conv + BatchNorm + ReLU blocks with 2×2 max-pooling ('M' in the spec),
/// global average pooling, then a small MLP head. The same layer list drives forward() and ONNX export.
/// A trailing 'F' in the spec flattens the last feature map instead of averaging it, so the head sees where on the
/// face a feature fired (mouth corners and brows mean different things), at the cost of a larger first linear layer.
/// </summary>
internal sealed class EmotionNet : Module<Tensor, Tensor>
{
    public const double BatchNormEpsilon = 1e-5;

    private readonly Sequential layers;

    public EmotionNet(string spec, int classes, double featureDropout, double headDropout, int hidden = 256, int inputSide = 48) : base(nameof(EmotionNet))
    {
        Spec = spec;
        var modules = new List<(string, Module<Tensor, Tensor>)>();
        var channels = 1;
        var side = inputSide;
        var index = 0;
        var flattenMap = false;
        foreach (var token in spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (flattenMap)
            {
                throw new ArgumentException($"'F' must be the last token of the architecture '{spec}'.", nameof(spec));
            }
            if (token == "M")
            {
                modules.Add(($"pool{index++}", MaxPool2d(kernel_size: 2, stride: 2)));
                side /= 2;
                continue;
            }
            if (token == "F")
            {
                flattenMap = true;
                continue;
            }
            var width = int.Parse(token, System.Globalization.CultureInfo.InvariantCulture);
            modules.Add(($"conv{index}", Conv2d(channels, width, kernel_size: 3, padding: 1, bias: false)));
            modules.Add(($"bn{index}", BatchNorm2d(width, eps: BatchNormEpsilon)));
            modules.Add(($"relu{index++}", ReLU()));
            channels = width;
        }
        if (!flattenMap)
        {
            modules.Add(("gap", AdaptiveAvgPool2d(1)));
        }
        modules.Add(("flatten", Flatten()));
        modules.Add(("drop1", Dropout(featureDropout)));
        modules.Add(("fc1", Linear(flattenMap ? channels * side * side : channels, hidden)));
        modules.Add(("relu_fc1", ReLU()));
        modules.Add(("drop2", Dropout(headDropout)));
        modules.Add(("fc2", Linear(hidden, classes)));
        layers = Sequential(modules);
        RegisterComponents();
    }

    public string Spec { get; }

    public IEnumerable<Module> Layers => layers.children();

    public override Tensor forward(Tensor input) => layers.forward(input);

    /// <summary>
    /// Stores every conv weight channels-last (NHWC strides, same values), so libtorch's CPU convolutions run in that
    /// layout and hand it on to BatchNorm, ReLU and pooling. Call before an optimiser takes the parameters.
    /// </summary>
    public void UseChannelsLast()
    {
        foreach (var module in layers.children())
        {
            if (module is TorchSharp.Modules.Conv2d conv)
            {
                // A view made outside no_grad: the optimiser may update it in place.
                var nhwc = conv.weight!.detach().permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
                conv.weight = new TorchSharp.Modules.Parameter(nhwc);
            }
        }
    }

    public long ParameterCount()
    {
        long total = 0;
        foreach (var p in parameters())
        {
            total += p.numel();
        }
        return total;
    }
}
