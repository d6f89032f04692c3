using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using SkiaSharp;

namespace FerService.Inference.Alignment;

/// <summary>
/// Turns a face (or a whole pre-cropped image) into the classifier's input: rotate a strongly tilted head back to
/// <see cref="MaxKeptRoll"/>, square crop around the box centre with the model's margin, resample to the input size, convert to grey
/// or RGB, normalise as the manifest says. The service and the evaluate tool both use this code.
/// </summary>
internal sealed class FaceAligner(ModelInput input)
{
    private static readonly SKSamplingOptions Sampling = new(SKFilterMode.Linear, SKMipmapMode.Linear);

    /// <summary>
    /// Head roll (eye-line angle) left as it is. FER2013's faces were cropped, not rotated: their eye lines spread over
    /// about ±20°, and levelling them all cost the classifier accuracy on scene faces (evaluate-scenes); only the tilt
    /// beyond this is turned back, so a head on its side still reaches the classifier near the range it was trained on.
    /// </summary>
    public const float MaxKeptRoll = 30 * MathF.PI / 180;

    public ModelInput Input => input;

    /// <summary>Floats per crop (channels × height × width).</summary>
    public int CropLength => input.Channels * input.Width * input.Height;

    /// <summary>
    /// Source → crop transform: translate the box centre to the origin, rotate back the eye-line angle beyond <see cref="MaxKeptRoll"/>,
    /// scale the square side (max box side × <paramref name="cropScale"/>) to the input width, move to the crop centre.
    /// </summary>
    public static SKMatrix FaceTransform(DetectedFace face, int width, int height, double cropScale)
    {
        var eyes = face.Landmarks;
        // The subject's right eye is on the image's left, so left − right points along +x for an upright face.
        var roll = MathF.Atan2(eyes.LeftEye.Y - eyes.RightEye.Y, eyes.LeftEye.X - eyes.RightEye.X);
        var angle = roll - Math.Clamp(roll, -MaxKeptRoll, MaxKeptRoll);
        var side = Math.Max(face.Box.Width, face.Box.Height) * (float)cropScale;
        var scale = width / side;
        return SKMatrix.CreateTranslation(-face.Box.CenterX, -face.Box.CenterY)
            .PostConcat(SKMatrix.CreateRotation(-angle))
            .PostConcat(SKMatrix.CreateScale(scale, scale * height / width))
            .PostConcat(SKMatrix.CreateTranslation(width / 2f, height / 2f));
    }

    /// <summary>Whole image stretched to the input size: the <c>detect=false</c> path for pre-cropped faces.</summary>
    public static SKMatrix WholeImageTransform(int imageWidth, int imageHeight, int width, int height) =>
        SKMatrix.CreateScale((float)width / imageWidth, (float)height / imageHeight);

    public void CropFace(RgbaImage image, DetectedFace face, Span<float> destination) =>
        Crop(image, FaceTransform(face, input.Width, input.Height, input.FaceCropScale), destination);

    public void CropWhole(RgbaImage image, Span<float> destination) =>
        Crop(image, WholeImageTransform(image.Width, image.Height, input.Width, input.Height), destination);

    /// <summary>Resamples <paramref name="image"/> through <paramref name="transform"/> and writes normalised NCHW floats.</summary>
    public unsafe void Crop(RgbaImage image, SKMatrix transform, Span<float> destination)
    {
        int width = input.Width, height = input.Height;
        if (destination.Length < CropLength)
        {
            throw new ArgumentException("Destination is smaller than one crop.", nameof(destination));
        }
        Span<byte> pixels = width * height * 4 <= 64 * 1024 ? stackalloc byte[width * height * 4] : new byte[width * height * 4];
        fixed (byte* cropPixels = pixels)
        {
            var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var surface = SKSurface.Create(info, (nint)cropPixels, width * 4);
            // Skia builds the mipmaps of the image it is given on every draw: give it only the part the crop samples.
            var region = SourceRegion(transform, width, height, image.Width, image.Height);
            using var source = SKImage.FromPixels(new SKImageInfo(region.Width, region.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul),
                image.Address + region.Top * image.RowBytes + region.Left * 4, image.RowBytes);
            var canvas = surface.Canvas;
            canvas.Clear(SKColors.Black);
            canvas.SetMatrix(transform);
            canvas.DrawImage(source, region.Left, region.Top, Sampling);
            canvas.Flush();
        }
        Normalise(pixels, destination);
    }

    /// <summary>
    /// The part of the image a crop through <paramref name="transform"/> samples, such that its mipmaps match the whole
    /// image's there, and the crop comes out the same: two blocks of the coarsest level the draw may use as margin, starting
    /// and stopping a multiple of twice that block from the image's edges. Skia maps into level k with the ratio of its
    /// side (⌊n/2^k⌋) to the image's, so a side not divisible by twice the block keeps its whole length.
    /// </summary>
    internal static SKRectI SourceRegion(SKMatrix transform, int cropWidth, int cropHeight, int imageWidth, int imageHeight)
    {
        var whole = new SKRectI(0, 0, imageWidth, imageHeight);
        if (!transform.TryInvert(out var inverse))
        {
            return whole;
        }
        var a = inverse.MapPoint(0, 0);
        var b = inverse.MapPoint(cropWidth, 0);
        var c = inverse.MapPoint(0, cropHeight);
        var d = inverse.MapPoint(cropWidth, cropHeight);
        var minX = MathF.Min(MathF.Min(a.X, b.X), MathF.Min(c.X, d.X));
        var maxX = MathF.Max(MathF.Max(a.X, b.X), MathF.Max(c.X, d.X));
        var minY = MathF.Min(MathF.Min(a.Y, b.Y), MathF.Min(c.Y, d.Y));
        var maxY = MathF.Max(MathF.Max(a.Y, b.Y), MathF.Max(c.Y, d.Y));
        // Source pixels per crop pixel along the larger axis; the draw blends the mipmap levels on either side of it.
        var shrink = MathF.Max(MathF.Abs(inverse.ScaleX) + MathF.Abs(inverse.SkewX), MathF.Abs(inverse.SkewY) + MathF.Abs(inverse.ScaleY));
        if (!float.IsFinite(minX + maxX + minY + maxY + shrink) || shrink > 1 << 16)
        {
            return whole;
        }
        var block = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, (int)MathF.Ceiling(shrink)));
        var margin = 2 * block + 2;
        var (left, right) = BlockSpan(minX - margin, maxX + margin, block, imageWidth);
        var (top, bottom) = BlockSpan(minY - margin, maxY + margin, block, imageHeight);
        return right > left && bottom > top ? new SKRectI(left, top, right, bottom) : whole;
    }

    private static (int Start, int End) BlockSpan(float first, float last, int block, int length)
    {
        var step = 2 * block;
        if (length % step != 0)
        {
            return (0, length);
        }
        var start = (int)Math.Clamp(MathF.Floor(first / step) * step, 0, length);
        var end = length - (int)Math.Clamp(MathF.Floor((length - last) / step) * step, 0, length);
        return (start, end);
    }

    /// <summary>RGBA bytes → normalised planes. Grey uses ITU-R BT.601 luma, as FER2013's grey images do.</summary>
    private void Normalise(ReadOnlySpan<byte> pixels, Span<float> destination)
    {
        var plane = input.Width * input.Height;
        var scale = (float)input.Scale;
        if (input.Channels == 1)
        {
            var mean = (float)input.Mean[0];
            var inverseStd = 1f / (float)input.Std[0];
            for (var i = 0; i < plane; i++)
            {
                var p = i * 4;
                var grey = MathF.Round(0.299f * pixels[p] + 0.587f * pixels[p + 1] + 0.114f * pixels[p + 2]);
                destination[i] = (grey * scale - mean) * inverseStd;
            }
            return;
        }
        for (var c = 0; c < 3; c++)
        {
            var mean = (float)input.Mean[c];
            var inverseStd = 1f / (float)input.Std[c];
            var channel = destination.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                channel[i] = (pixels[i * 4 + c] * scale - mean) * inverseStd;
            }
        }
    }
}
