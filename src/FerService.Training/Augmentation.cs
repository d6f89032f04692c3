using TorchSharp;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>What a training batch goes through before the net sees it: framing jitter, flips, rotation, contrast, erasing; and the samplers they use.</summary>
internal static class Augmentation
{
    private const int Side = FerService.Evaluation.Fer2013Split.Side;

    /// <summary>
    /// One random affine warp per sample (crop position, shift, flip, rotation, scale) sampled straight into
    /// a crop×crop output, then contrast and brightness. Smaller crops keep the pixel scale of the face and
    /// cut compute by (crop/48)², so more epochs fit the budget. A sample with a <paramref name="framings"/> entry is,
    /// with probability <paramref name="framingShare"/>, sampled where the service would crop it, with the standard
    /// jitter around that.
    /// </summary>
    internal static Tensor Augment(Tensor images, int crop, double eraseProbability, JitterKind jitter, Random random,
        ReadOnlySpan<Scenes.FaceFraming?> framings = default, double framingShare = 0)
    {
        var field = (double)crop / Side;
        var count = (int)images.shape[0];
        var theta = new float[count * 6];
        var contrast = new float[count];
        var brightness = new float[count];
        var maxShift = (4.0 + (Side - crop) / 2.0) / (Side / 2.0);
        for (var i = 0; i < count; i++)
        {
            var angle = (random.NextDouble() * 2 - 1) * 10 * Math.PI / 180;
            var flip = random.Next(2) == 0 ? 1.0 : -1.0;
            var framing = i < framings.Length && framings[i] is { } f && random.NextDouble() < framingShare ? f : (Scenes.FaceFraming?)null;
            var kind = framing is null ? jitter : JitterKind.Standard;
            // The sampled field's side over the face's: above 1 the face looks smaller, as in a detector box too large.
            var scale = (kind == JitterKind.Pipeline
                ? Math.Clamp(Math.Exp(PipelineScaleSd * Gaussian(random)), 0.7, 1.4)
                : 1 / (0.9 + random.NextDouble() * 0.2)) * (framing?.Scale ?? 1);
            // Shifts in affine_grid units: the face's side is 2.
            var shiftX = (kind == JitterKind.Pipeline ? Math.Clamp(2 * PipelineShiftSdX * Gaussian(random), -0.4, 0.4) : (random.NextDouble() * 2 - 1) * maxShift)
                + 2 * (framing?.ShiftX ?? 0);
            var shiftY = (kind == JitterKind.Pipeline ? Math.Clamp(2 * PipelineShiftSdY * Gaussian(random), -0.4, 0.4) : (random.NextDouble() * 2 - 1) * maxShift)
                + 2 * (framing?.ShiftY ?? 0);
            var cos = Math.Cos(angle) * scale * field;
            var sin = Math.Sin(angle) * scale * field;
            theta[i * 6 + 0] = (float)(cos * flip);
            theta[i * 6 + 1] = (float)-sin;
            theta[i * 6 + 2] = (float)shiftX;
            theta[i * 6 + 3] = (float)(sin * flip);
            theta[i * 6 + 4] = (float)cos;
            theta[i * 6 + 5] = (float)shiftY;
            contrast[i] = (float)(0.8 + random.NextDouble() * 0.4);
            brightness[i] = (float)((random.NextDouble() * 2 - 1) * 0.1);
        }
        var grid = nn.functional.affine_grid(tensor(theta, [count, 2, 3]), [count, 1, crop, crop], align_corners: false);
        var warped = nn.functional.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
        var means = warped.mean([1, 2, 3], keepdim: true);
        var adjusted = (warped - means) * tensor(contrast, [count, 1, 1, 1]) + means + tensor(brightness, [count, 1, 1, 1]);
        var clamped = adjusted.clamp(0, 1);
        return eraseProbability > 0 ? Erase(clamped, eraseProbability, random) : clamped;
    }

    internal const double PipelineScaleSd = 0.16;
    internal const double PipelineShiftSdX = 0.055;
    internal const double PipelineShiftSdY = 0.06;

    /// <summary>A standard normal draw (Box–Muller; 1 - U keeps the logarithm finite).</summary>
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    internal static Tensor Erase(Tensor images, double probability, Random random)
    {
        var count = (int)images.shape[0];
        var side = (int)images.shape[2];
        var mask = new bool[count * side * side];
        for (var i = 0; i < count; i++)
        {
            if (random.NextDouble() >= probability)
            {
                continue;
            }
            var area = side * side * (0.02 + random.NextDouble() * 0.18);
            var aspect = Math.Exp(Math.Log(0.3) + random.NextDouble() * (Math.Log(3.3) - Math.Log(0.3)));
            var height = Math.Clamp((int)Math.Round(Math.Sqrt(area * aspect)), 1, side);
            var width = Math.Clamp((int)Math.Round(Math.Sqrt(area / aspect)), 1, side);
            var top = random.Next(side - height + 1);
            var left = random.Next(side - width + 1);
            for (var y = top; y < top + height; y++)
            {
                mask.AsSpan(i * side * side + y * side + left, width).Fill(true);
            }
        }
        // A mask and where(), not images * (1 - mask) + noise * mask: a 60-minute run died here in libtorch's
        // Scalar-to-float check on what looked like freed memory, with the implicit Scalar for 1 the only suspect.
        var erased = tensor(mask, [count, 1, side, side]);
        return where(erased, rand_like(images), images);
    }
}
