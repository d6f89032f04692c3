using FerService.Inference.Detection;
using FerService.Serving;

namespace FerService.Training.Scenes;

/// <summary>
/// A FER2013 face alone: upscaled in the middle of a plain canvas, where the detector sees it without any scene
/// around it, and the box found there mapped back onto the face's place in a scene.
/// </summary>
internal static class FaceAlone
{
    public const int Side = 192;

    /// <summary>The face upscaled to <see cref="Side"/> in the middle of a mid-grey canvas three times as wide.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> grey)
    {
        using var faceImage = SceneGenerator.FaceImage(grey);
        using var canvasBitmap = new SkiaSharp.SKBitmap(3 * Side, 3 * Side, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Premul);
        using (var canvas = new SkiaSharp.SKCanvas(canvasBitmap))
        {
            canvas.Clear(new SkiaSharp.SKColor(128, 128, 128));
            canvas.DrawImage(faceImage, SkiaSharp.SKRect.Create(Side, Side, Side, Side), new SkiaSharp.SKSamplingOptions(SkiaSharp.SKCubicResampler.Mitchell));
        }
        using var data = canvasBitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>The box found for the face alone (centred inside the face square), mapped onto <paramref name="truth"/> in the scene.</summary>
    public static BoxF? MapBox(ImageAnalysis analysis, BoxF truth)
    {
        foreach (var face in analysis.Faces)
        {
            var box = face.Box;
            if (box.CenterX >= Side && box.CenterX <= 2 * Side && box.CenterY >= Side && box.CenterY <= 2 * Side)
            {
                var scale = truth.Width / Side;
                return new BoxF(truth.X + (box.X - Side) * scale, truth.Y + (box.Y - Side) * scale, box.Width * scale, box.Height * scale);
            }
        }
        return null;
    }
}
