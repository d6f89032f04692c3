using FerService.Evaluation;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Benchmarks;

/// <summary>The fixed benchmark inputs: JPEG scenes of FER2013 PublicTest faces (mixed sizes, or the earlier 640×480 set), and crops for the classifier.</summary>
internal static class Scenes
{
    public const int Width = 640;
    public const int Height = 480;
    private const int Seed = 20261129;

    private static readonly Lazy<Fer2013Split> Faces = new(() =>
    {
        var path = Environment.GetEnvironmentVariable("FER_DATA") is { Length: > 0 } env && File.Exists(env) ? env : Fer2013Reader.FindDefault(Repository.Root);
        if (path is null)
        {
            throw new FileNotFoundException("The benchmark pastes FER2013 faces into its scenes: put fer2013.csv[.gz] into data/ (or set FER_DATA).");
        }
        return Fer2013Reader.Read(path, ["PublicTest"], 2000)["PublicTest"];
    });

    public static Fer2013Split Split => Faces.Value;

    /// <summary><paramref name="count"/> scenes; scene i holds 1 + i % 4 faces of 64–200 px, JPEG quality 90.</summary>
    public static IReadOnlyList<Scene> Build(int count)
    {
        var random = new Random(Seed);
        var scenes = new List<Scene>(count);
        for (var i = 0; i < count; i++)
        {
            var rows = new int[1 + i % 4];
            for (var f = 0; f < rows.Length; f++)
            {
                rows[f] = random.Next(Split.Count);
            }
            scenes.Add(SceneBuilder.Build(Split, rows, random, Width, Height, 64, 200, SKEncodedImageFormat.Jpeg));
        }
        return scenes;
    }

    /// <summary>
    /// <paramref name="count"/> mixed scenes, as users send photos: 640×480, 800×600, 1024×768 and 1280×720 in turn, 0–4
    /// faces (scene i holds i % 5) of 48–250 px, JPEG quality 92.
    /// </summary>
    public static IReadOnlyList<Scene> BuildMixed(int count)
    {
        (int Width, int Height)[] sizes = [(640, 480), (800, 600), (1024, 768), (1280, 720)];
        var random = new Random(Seed);
        var scenes = new List<Scene>(count);
        for (var i = 0; i < count; i++)
        {
            var rows = new int[i % 5];
            for (var f = 0; f < rows.Length; f++)
            {
                rows[f] = random.Next(Split.Count);
            }
            var (width, height) = sizes[i / 5 % sizes.Length];
            scenes.Add(SceneBuilder.Build(Split, rows, random, width, height, 48, 250, SKEncodedImageFormat.Jpeg));
        }
        return scenes;
    }

    /// <summary>Whole-image classifier crops of <paramref name="count"/> FER2013 faces, laid out back to back.</summary>
    public static float[] Crops(FerService.Inference.Alignment.FaceAligner aligner, int count)
    {
        var crops = new float[count * aligner.CropLength];
        for (var i = 0; i < count; i++)
        {
            using var face = FerService.Inference.Imaging.RgbaImage.FromGrey(Split.Image(i), Fer2013Split.Side, Fer2013Split.Side);
            aligner.CropWhole(face, crops.AsSpan(i * aligner.CropLength, aligner.CropLength));
        }
        return crops;
    }
}
