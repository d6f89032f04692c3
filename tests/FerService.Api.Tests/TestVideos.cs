using System.Diagnostics;
using SkiaSharp;

namespace FerService.Api.Tests;

/// <summary>Test videos written by ffmpeg from frames drawn here (FER2013 faces on a grey canvas).</summary>
internal static class TestVideos
{
    public const int Width = 640, Height = 480, SourceFps = 10;

    public static SKBitmap Face(FerService.Evaluation.Fer2013Split rows, int index)
    {
        var face = new SKBitmap(48, 48, SKColorType.Gray8, SKAlphaType.Opaque);
        rows.Pixels.AsSpan(index * 48 * 48, 48 * 48).CopyTo(face.GetPixelSpan());
        return face;
    }

    public static void Draw(SKCanvas canvas, SKBitmap face, float x, float y, float side)
    {
        using var image = SKImage.FromBitmap(face);
        canvas.DrawImage(image, new SKRect(x, y, x + side, y + side), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.None));
    }

    /// <summary>Frames drawn on a grey 640×480 canvas, piped as raw RGBA into ffmpeg and encoded at 10 frames per second.</summary>
    public static string Encode(string directory, string name, int seconds, Action<int, SKCanvas> draw, string codec = "libx264")
    {
        var path = Path.Combine(directory, name);
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgba", "-s", $"{Width}x{Height}", "-r", $"{SourceFps}",
            "-i", "pipe:0", "-c:v", codec, "-pix_fmt", "yuv420p", path })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        using var bitmap = new SKBitmap(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using (var input = process.StandardInput.BaseStream)
        {
            for (var frame = 0; frame < seconds * SourceFps; frame++)
            {
                using (var canvas = new SKCanvas(bitmap))
                {
                    canvas.Clear(SKColors.Gray);
                    draw(frame, canvas);
                }
                input.Write(bitmap.GetPixelSpan());
            }
        }
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"ffmpeg could not encode the test video: {errors.Result}");
        return path;
    }

    /// <summary>A minute of ffmpeg's test pattern at 640×480, 10 frames per second: decoding it at 10 fps takes far longer than a test waits.</summary>
    public static string Minute(string directory)
    {
        var video = Path.Combine(directory, "minute.mp4");
        Run("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=640x480:rate=10:duration=60", "-c:v", "libx264", "-preset", "ultrafast",
            "-pix_fmt", "yuv420p", video);
        return video;
    }

    /// <summary>Runs ffmpeg with <paramref name="arguments"/> and fails the test when it fails.</summary>
    public static void Run(params string[] arguments)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"ffmpeg failed: {errors}");
    }
}
