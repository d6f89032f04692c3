using FerService.Evaluation;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace FerService.Inference.Tests;

/// <summary>The BlazeFace graphs rewritten for any input size, and the whole view that keeps the image's shape.</summary>
public sealed class FreeSizeDetectorTests
{
    private static OnnxSessionFactory Sessions() =>
        new(Options.Create(new OnnxOptions { IntraOpThreads = 1 }), NullLogger<OnnxSessionFactory>.Instance);

    private static float[][] Run(InferenceSession session, float[] input, int rows, int columns)
    {
        using var value = OrtValue.CreateTensorValueFromMemory(input, [1, rows, columns, 3]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, [session.InputNames[0]], [value], session.OutputNames);
        var result = new float[outputs.Count][];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = outputs[i].GetTensorDataAsSpan<float>().ToArray();
        }
        return result;
    }

    [Theory]
    [InlineData("face_detection_back_256x256_barracuda.onnx", 256)]
    [InlineData("face_detection_front_128x128_barracuda.onnx", 128)]
    public void WithFreeInputSize_ShippedModel_SameOutputsAtItsSizeAndAnchorsForAnyOther(string file, int size)
    {
        var original = File.ReadAllBytes(Path.Combine(TestPaths.Models, file));
        var rewritten = BlazeFaceGraph.WithFreeInputSize(original, out var nominal, out var shapes);
        var sessions = Sessions();
        using var fixedSession = sessions.Create(original, "fixed");
        using var freeSession = sessions.Create(rewritten, "free");
        var random = new Random(7);
        var input = new float[size * size * 3];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = random.NextSingle() * 2 - 1;
        }

        Assert.Equal(size, nominal);
        Assert.Equal(fixedSession.OutputMetadata.ToDictionary(o => o.Key, o => o.Value.Dimensions), shapes);
        Assert.Equal([-1, -1], freeSession.InputMetadata.Single().Value.Dimensions[1..3]);
        var expected = Run(fixedSession, input, size, size);
        var actual = Run(freeSession, input, size, size);
        for (var o = 0; o < expected.Length; o++)
        {
            Assert.Equal(expected[o].Length, actual[o].Length);
            for (var i = 0; i < expected[o].Length; i++)
            {
                Assert.True(Math.Abs(expected[o][i] - actual[o][i]) <= 1e-3f * (1 + Math.Abs(expected[o][i])), $"output {o}[{i}]");
            }
        }
        // Scores [1,N,1] and boxes [1,N,16] per grid: 2 anchors per fine cell (size/16 px), 6 per coarse cell (size/8 px).
        int rows = size + size / 8, columns = 2 * size - size / 4;
        var wide = Run(freeSession, new float[rows * columns * 3], rows, columns);
        var fine = rows / (size / 16) * (columns / (size / 16)) * 2;
        var coarse = rows / (size / 8) * (columns / (size / 8)) * 6;
        Assert.Equal(new[] { coarse, fine, 16 * coarse, 16 * fine }.Order(), wide.Select(o => o.Length).Order());
    }

    [Fact]
    public void WithFreeInputSize_NotABlazeFaceGraph_ThrowsInvalidData()
    {
        var classifier = File.ReadAllBytes(Path.Combine(TestPaths.Models, "emotion-fer2013.onnx"));

        Assert.Throws<InvalidDataException>(() => BlazeFaceGraph.WithFreeInputSize(classifier, out _, out _));
    }

    [Fact]
    public void DecodeGrid_RectangularInput_AnchorsSpanTheirShareOfTheFrame()
    {
        // A 256×128 input in a 256 frame: 16×8 cells of 16 px; the last cell's anchor sits at (248, 120) frame pixels.
        var scores = new float[16 * 8 * 2];
        var regressors = new float[scores.Length * BlazeFaceDecoder.RegressorsPerAnchor];
        Array.Fill(scores, -10f);
        var last = scores.Length - 1;
        scores[last] = 5f;
        regressors[last * BlazeFaceDecoder.RegressorsPerAnchor + 2] = 32;
        regressors[last * BlazeFaceDecoder.RegressorsPerAnchor + 3] = 32;
        var output = new List<BlazeFaceDecoder.Candidate>();

        BlazeFaceDecoder.DecodeGrid(scores, regressors, 16, 8, 2, 256, 1f, 0.5f, 0.5f, output);

        var candidate = Assert.Single(output);
        Assert.Equal(248f / 256, candidate.CenterX, 5);
        Assert.Equal(120f / 256, candidate.CenterY, 5);
        Assert.Equal(32f / 256, candidate.Width, 5);
    }

    [Theory]
    [InlineData(1280, 720, 2f, 640, 384)]   // half size, the short side up to whole 32-px cells
    [InlineData(640, 480, 2f, 320, 256)]
    [InlineData(720, 1280, 2.5f, 288, 512)]
    [InlineData(100, 50, 2f, 256, 128)]     // never under the nominal size: small photos are enlarged as before
    [InlineData(4000, 3000, 2f, 640, 480)]  // capped
    public void LetterboxShrink_PhotoSizes_KeepShapeInWholeCellsWithinBounds(int width, int height, float downscale, int columns, int rows)
    {
        var (view, actualColumns, actualRows) = Letterbox.Shrink(width, height, 256, 32, downscale, 640);

        Assert.Equal((columns, rows), (actualColumns, actualRows));
        Assert.Equal((0f, 0f), (view.OffsetX, view.OffsetY));
        Assert.Equal(Math.Max(columns, rows), view.InputSize);
        Assert.Equal((float)view.InputSize / Math.Max(width, height), view.Scale);
    }

    [Theory]
    [InlineData(96, 64, 32, 16)]
    [InlineData(40, 90, 24, 32)]
    public void SampleBilinear_Rectangle_IsTheTopLeftOfTheSquare(int width, int height, int columns, int rows)
    {
        var pixels = new byte[width * height * 4];
        new Random(3).NextBytes(pixels);
        var view = new Letterbox(0.37f, 0, 0, 32);
        var square = new float[32 * 32 * 3];
        var rectangle = new float[columns * rows * 3];

        DetectorInput.SampleBilinear(pixels, width, height, view, 32, square);
        DetectorInput.SampleBilinear(pixels, width, height, view, columns, rows, rectangle);

        for (var y = 0; y < rows; y++)
        {
            Assert.Equal(square.AsSpan(y * 32 * 3, columns * 3), rectangle.AsSpan(y * columns * 3, columns * 3));
        }
    }

    [Fer2013Fact]
    public void Detect_SmallFacesInAWidePhoto_FoundThroughTheHalfSizeView()
    {
        // 56–72 px faces in a 1280×720 JPEG: the 256×256 square view found 3 of these 4 when this was written.
        var scene = SceneBuilder.Build(PublicTest.Rows, [10, 200, 3000, 1333], new Random(6), 1280, 720, 56, 72, SkiaSharp.SKEncodedImageFormat.Jpeg);
        var image = new SkiaImageDecoder().Decode(scene.Encoded, DecodeLimits.Default);
        using var detector = new BlazeFaceDetector(Sessions(), new DetectionOptions
        {
            ModelPath = TestPaths.Detector256,
            ProposalModelPath = TestPaths.Detector128,
            WholeViewDownscale = 2,
        });

        var faces = detector.Detect(image, new DetectionRequest(0.6f, 10, 0));

        Assert.Equal(256, detector.InputSize);
        foreach (var (_, truth) in scene.Faces)
        {
            Assert.Contains(faces, f => BoxF.IntersectionOverUnion(f.Box, truth) >= 0.4f);
        }
    }
}
