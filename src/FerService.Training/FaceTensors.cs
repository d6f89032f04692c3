using FerService.Evaluation;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>FER2013 faces as the net sees them: [N, 1, 48, 48] float tensors, scaled to [0, 1] and normalised with the Training pixel statistics.</summary>
internal static class FaceTensors
{
    public static (double Mean, double Std) PixelStatistics(Fer2013Split split)
    {
        double sum = 0, squares = 0;
        foreach (var p in split.Pixels)
        {
            var v = p / 255.0;
            sum += v;
            squares += v * v;
        }
        var mean = sum / split.Pixels.Length;
        return (mean, Math.Sqrt(squares / split.Pixels.Length - mean * mean));
    }

    public static Tensor ToTensor(Fer2013Split split)
    {
        var values = new float[split.Pixels.Length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = split.Pixels[i] / 255f;
        }
        return tensor(values, [split.Count, 1, Fer2013Split.Side, Fer2013Split.Side]);
    }

    public static Tensor Normalise(Tensor images, double mean, double std) => images.sub(mean).div(std);
}
