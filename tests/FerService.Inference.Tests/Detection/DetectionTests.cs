using FerService.Inference.Detection;
using FerService.Inference.Imaging;

namespace FerService.Inference.Tests.Detection;

public sealed class DetectionTests
{
    private static FaceCandidate Candidate(float score, float x, float y, float side) =>
        new(score, new BoxF(x, y, side, side), default);

    [Fact]
    public void DecodeStride_OneConfidentCell_DecodesBoxAndKeypointsFromItsCell()
    {
        const int columns = 4, rows = 3, stride = 16, cell = 2 * columns + 1; // row 2, column 1
        var cls = new float[columns * rows];
        var obj = new float[columns * rows];
        var boxes = new float[columns * rows * 4];
        var keypoints = new float[columns * rows * 10];
        cls[cell] = 0.81f;
        obj[cell] = 1.2f; // clamped to 1
        new[] { 0.25f, -0.5f, MathF.Log(2), MathF.Log(3) }.CopyTo(boxes, cell * 4);
        for (var k = 0; k < 10; k++)
        {
            keypoints[cell * 10 + k] = k * 0.1f;
        }
        var output = new List<FaceCandidate>();

        YuNetDecoder.DecodeStride(cls, obj, boxes, keypoints, columns, rows, stride, scale: 0.5f, minScore: 0.5f, output);

        var c = Assert.Single(output);
        Assert.Equal(0.9f, c.Score, 5); // sqrt(0.81 · 1)
        // Centre ((1 + 0.25)·16, (2 − 0.5)·16) = (20, 24) input pixels, size (32, 48); the image is twice the input.
        Assert.Equal(new BoxF(40 - 32, 48 - 48, 64, 96), Round(c.Box));
        Assert.Equal(new PointF((1 + 0f) * 32, (2 + 0.1f) * 32), Round(c.Landmarks.RightEye));
        Assert.Equal(new PointF((1 + 0.8f) * 32, (2 + 0.9f) * 32), Round(c.Landmarks.LeftMouth));
        Assert.Equal(new PointF((1 + 0.7f) * 32, (2 + 0.8f) * 32), Round(c.Landmarks.Mouth));
    }

    [Fact]
    public void DecodeStride_ScoreJustBelowThreshold_Dropped()
    {
        var cls = new[] { 0.48f, 1f }; // sqrt(0.48) ≈ 0.693
        var obj = new[] { 1f, -0.2f }; // objectness clamped to 0
        var output = new List<FaceCandidate>();

        YuNetDecoder.DecodeStride(cls, obj, new float[8], new float[20], 2, 1, 8, 1, 0.7f, output);

        Assert.Empty(output);
    }

    [Fact]
    public void DecodeStride_RegressionOverflowing_NoBox()
    {
        var output = new List<FaceCandidate>();

        YuNetDecoder.DecodeStride([1f], [1f], [0, 0, 200f, 0], new float[10], 1, 1, 8, 1, 0.5f, output);

        Assert.Empty(output);
    }

    [Fact]
    public void DecodeStride_OutputsNotFittingTheGrid_Throw() =>
        Assert.Throws<ArgumentException>(() => YuNetDecoder.DecodeStride(new float[6], new float[6], new float[24], new float[50], 3, 2, 8, 1, 0.5f, []));

    [Fact]
    public void Suppress_OverlappingBoxes_KeepsTheStrongest()
    {
        var kept = YuNetDecoder.Suppress([Candidate(0.7f, 0, 0, 100), Candidate(0.9f, 10, 0, 100), Candidate(0.8f, 300, 0, 50)], 0.3f, 0.5f);

        Assert.Equal([0.9f, 0.8f], kept.Select(c => c.Score));
    }

    [Fact]
    public void Suppress_SmallBoxInsideALargeFace_Dropped()
    {
        // IoU 0.16, below any NMS threshold: only the nested rule removes the second box on the same face.
        var kept = YuNetDecoder.Suppress([Candidate(0.95f, 0, 0, 500), Candidate(0.7f, 100, 150, 200)], 0.3f, 0.5f);

        Assert.Equal(0.95f, Assert.Single(kept).Score);
    }

    [Fact]
    public void Suppress_LargeBoxAroundAStrongerSmallOne_Dropped()
    {
        var kept = YuNetDecoder.Suppress([Candidate(0.6f, 0, 0, 500), Candidate(0.9f, 100, 150, 200)], 0.3f, 0.5f);

        Assert.Equal(0.9f, Assert.Single(kept).Score);
    }

    [Fact]
    public void Suppress_SmallFaceBesideALargeOne_BothKept()
    {
        // The small face's box touches the large one by a sliver (a quarter of the small box): two people.
        var kept = YuNetDecoder.Suppress([Candidate(0.9f, 0, 0, 400), Candidate(0.8f, 380, 100, 80)], 0.3f, 0.5f);

        Assert.Equal(2, kept.Count);
    }

    [Fact]
    public void IntersectionOverSmaller_Nested_One() =>
        Assert.Equal(1f, YuNetDecoder.IntersectionOverSmaller(new(0, 0, 100, 100), new(10, 10, 20, 20)), 5);

    [Fact]
    public void ToFace_ScaleAndShift_SquareOfTheMeanSideScaledAboutTheCentreThenMoved()
    {
        var face = YuNetDecoder.ToFace(new FaceCandidate(0.9f, new BoxF(50, 40, 100, 144), default), 1.25f, -0.1f);

        Assert.Equal(150f, face.Box.Width, 3); // sqrt(100 · 144) · 1.25
        Assert.Equal(face.Box.Width, face.Box.Height);
        Assert.Equal(100f, face.Box.CenterX, 3);
        Assert.Equal(112f - 15f, face.Box.CenterY, 3);
    }

    [Theory]
    [InlineData(640, 480, 640, 1f, 640, 480)]
    [InlineData(1280, 720, 640, 0.5f, 640, 384)] // 360 rows padded to whole strides of 32
    [InlineData(100, 50, 640, 1f, 128, 64)] // never enlarged
    [InlineData(1, 20000, 640, 0.032f, 32, 640)]
    [InlineData(1, 1, 640, 1f, 32, 32)]
    public void InputShape_PhotoSizes_ShrunkToTheLongSidePaddedToStrides(int width, int height, int maxSide, float scale, int columns, int rows)
    {
        var shape = YuNetDetector.InputShape(width, height, maxSide);

        Assert.Equal(scale, shape.Scale, 5);
        Assert.Equal((columns, rows), (shape.Columns, shape.Rows));
    }

    [Fact]
    public void IntersectionOverUnion_KnownBoxes_Expected()
    {
        Assert.Equal(1f, BoxF.IntersectionOverUnion(new(0, 0, 10, 10), new(0, 0, 10, 10)), 5);
        Assert.Equal(0f, BoxF.IntersectionOverUnion(new(0, 0, 10, 10), new(20, 20, 10, 10)), 5);
        Assert.Equal(50f / 150f, BoxF.IntersectionOverUnion(new(0, 0, 10, 10), new(5, 0, 10, 10)), 5);
    }

    [Fact]
    public void BoxShrink_TwoByTwoBoxes_AveragesEachAndThePartialEdgeBox()
    {
        // 5×2 image, factor 2: boxes cover columns 0–1, 2–3 and the partial column 4.
        using var image = new FerService.Inference.Imaging.RgbaImage(5, 2);
        byte[] reds = [0, 100, 10, 20, 200, 50, 150, 30, 40, 100];
        for (var i = 0; i < reds.Length; i++)
        {
            image.Pixels[i * 4] = reds[i];
            image.Pixels[i * 4 + 3] = 255;
        }
        var shrunk = new byte[3 * 1 * 4];

        DetectorInput.BoxShrink(image, 2, shrunk);

        Assert.Equal([75, 25, 150], new[] { shrunk[0], shrunk[4], shrunk[8] });
        Assert.Equal(255, shrunk[3]);
    }

    [Theory]
    [InlineData(7, 5)]
    [InlineData(8, 6)] // one vector step
    [InlineData(37, 9)] // vector steps, scalar pairs, then the lone column
    [InlineData(640, 3)]
    [InlineData(1, 1)]
    public void BoxShrink_FactorTwo_SameBytesAsTheGeneralBoxAverage(int width, int height)
    {
        using var image = new FerService.Inference.Imaging.RgbaImage(width, height);
        new Random(width * 31 + height).NextBytes(image.Pixels);
        var length = (width + 1) / 2 * ((height + 1) / 2) * 4;
        var fast = new byte[length];
        var general = new byte[length];

        DetectorInput.BoxShrink(image, 2, fast);
        DetectorInput.AverageBoxes(image, 2, general);

        Assert.Equal(general, fast);
    }

    /// <summary>Each box's mean, one box and one channel at a time: what the shrink must equal byte for byte.</summary>
    private static byte[] BoxMeans(byte[] pixels, int width, int height, int rowBytes, int factor)
    {
        var outWidth = (width + factor - 1) / factor;
        var outHeight = (height + factor - 1) / factor;
        var means = new byte[outWidth * outHeight * 4];
        for (var y = 0; y < outHeight; y++)
        {
            for (var x = 0; x < outWidth; x++)
            {
                var rows = Math.Min(factor, height - y * factor);
                var columns = Math.Min(factor, width - x * factor);
                for (var c = 0; c < 4; c++)
                {
                    var sum = 0;
                    for (var dy = 0; dy < rows; dy++)
                    {
                        for (var dx = 0; dx < columns; dx++)
                        {
                            sum += pixels[(y * factor + dy) * rowBytes + (x * factor + dx) * 4 + c];
                        }
                    }
                    means[(y * outWidth + x) * 4 + c] = (byte)((sum + rows * columns / 2) / (rows * columns));
                }
            }
        }
        return means;
    }

    [Theory]
    [InlineData(1280, 720, 5, 0)] // a 1280-px photo into the 256 view
    [InlineData(1024, 768, 4, 0)]
    [InlineData(801, 603, 3, 0)] // partial boxes at the right and bottom
    [InlineData(37, 23, 7, 12)] // a region: rows longer than the width
    [InlineData(5, 3, 9, 0)] // one partial box
    [InlineData(600, 2, 300, 0)] // past 257 rows' worth of 16-bit sums: the per-pixel path
    public void BoxShrink_RandomPixels_SameBytesAsEachBoxMean(int width, int height, int factor, int extraRowBytes)
    {
        var rowBytes = width * 4 + extraRowBytes;
        var pixels = new byte[rowBytes * height];
        new Random(width * 13 + factor).NextBytes(pixels);
        var expected = BoxMeans(pixels, width, height, rowBytes, factor);
        var actual = new byte[expected.Length];

        DetectorInput.BoxShrink(pixels, width, height, rowBytes, factor, actual);

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void BoxShrink_AllWhiteFactor257_NoOverflow()
    {
        var pixels = new byte[257 * 257 * 4];
        Array.Fill(pixels, (byte)255);
        var shrunk = new byte[4];

        DetectorInput.BoxShrink(pixels, 257, 257, 257 * 4, 257, shrunk);

        Assert.Equal([255, 255, 255, 255], shrunk);
    }

    [Theory]
    [InlineData(641, 479, 0.5f, 320, 256)] // factor 2
    [InlineData(1280, 720, 0.4f, 512, 288)] // factor 2, then bilinear at 0.8
    [InlineData(2000, 1001, 0.32f, 640, 320)] // factor 3
    public void Preprocess_Shrunk_SameAsSamplingTheBoxShrunkImage(int width, int height, float scale, int columns, int rows)
    {
        using var image = new RgbaImage(width, height);
        new Random(width + height).NextBytes(image.Pixels);
        var factor = (int)(1 / scale);
        var shrunkWidth = (width + factor - 1) / factor;
        var shrunkHeight = (height + factor - 1) / factor;
        var shrunk = new byte[shrunkWidth * shrunkHeight * 4];
        DetectorInput.BoxShrink(image, factor, shrunk);
        var expected = new float[3 * columns * rows];
        DetectorInput.SampleBilinear(shrunk, shrunkWidth, shrunkHeight, scale * factor, columns, rows, expected);
        var actual = new float[expected.Length];

        DetectorInput.Preprocess(image, scale, columns, rows, actual);

        Assert.True(factor >= 2);
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(97, 61, 0f, 0f, 1f, 128, 64)] // as is, padded right and below
    [InlineData(97, 61, 0f, 0f, 0.7f, 96, 64)] // downscaled
    [InlineData(320, 240, 0f, 0f, 0.55f, 192, 160)]
    [InlineData(1, 1, 0f, 0f, 1f, 32, 32)] // a single pixel
    [InlineData(97, 61, 40.5f, -12f, 0.8f, 64, 64)] // a region reaching past the top and right edges
    public void SampleBilinear_RandomRgba_BitIdenticalToPerChannelLoop(int width, int height, float offsetX, float offsetY, float scale, int columns, int rows)
    {
        var pixels = new byte[width * height * 4];
        new Random(width + columns).NextBytes(pixels); // random alpha too
        var expected = new float[3 * columns * rows];
        PerChannelBilinear(pixels, width, height, offsetX, offsetY, scale, columns, rows, expected);
        var actual = new float[expected.Length];
        actual.AsSpan().Fill(float.NaN); // every element must be written, padding included

        DetectorInput.SampleBilinear(pixels, width, height, width * 4, offsetX, offsetY, scale, columns, rows, actual);

        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData(300, 200, 1f, 96, 64)] // as is
    [InlineData(-20, 500, 0.4f, 64, 64)] // shrunk by 2, past the left edge
    [InlineData(600, -50, 0.3f, 96, 96)] // shrunk by 3, past the top and right edges
    public void Preprocess_Region_SameAsSamplingTheRegionOfTheShrunkRegion(int originX, int originY, float scale, int columns, int rows)
    {
        using var image = new RgbaImage(641, 701);
        new Random(originX + originY).NextBytes(image.Pixels);
        var expected = new float[3 * columns * rows];
        var factor = Math.Max(1, (int)(1 / scale));
        int x0 = Math.Max(0, originX - 2 * factor), y0 = Math.Max(0, originY - 2 * factor);
        var x1 = Math.Min(image.Width, originX + (int)MathF.Ceiling(columns / scale) + 2 * factor);
        var y1 = Math.Min(image.Height, originY + (int)MathF.Ceiling(rows / scale) + 2 * factor);
        var region = image.Pixels[(y0 * image.RowBytes + x0 * 4)..].ToArray();
        if (factor == 1)
        {
            DetectorInput.SampleBilinear(region, x1 - x0, y1 - y0, image.RowBytes, originX - x0, originY - y0, scale, columns, rows, expected);
        }
        else
        {
            var width = (x1 - x0 + factor - 1) / factor;
            var height = (y1 - y0 + factor - 1) / factor;
            var shrunk = BoxMeans(region, x1 - x0, y1 - y0, image.RowBytes, factor);
            PerChannelBilinear(shrunk, width, height, (float)(originX - x0) / factor, (float)(originY - y0) / factor, scale * factor, columns, rows, expected);
        }
        var actual = new float[expected.Length];

        DetectorInput.Preprocess(image, originX, originY, scale, columns, rows, actual);

        Assert.Equal(expected, actual);
    }

    /// <summary>The straightforward per-channel form of <see cref="DetectorInput.SampleBilinear"/>: planes B, G, R in 0–255, 0 outside.</summary>
    private static void PerChannelBilinear(byte[] pixels, int width, int height, float offsetX, float offsetY, float scale, int columns, int rows,
        float[] destination)
    {
        var plane = columns * rows;
        for (var v = 0; v < rows; v++)
        {
            var (y0, y1, wy, rowInside) = Tap(v, offsetY, scale, height);
            for (var u = 0; u < columns; u++)
            {
                var (x0, x1, wx, inside) = Tap(u, offsetX, scale, width);
                var o = v * columns + u;
                for (var c = 0; c < 3; c++)
                {
                    // Plane 0 is blue (channel 2 of RGBA), plane 2 red.
                    var target = (2 - c) * plane + o;
                    if (!rowInside || !inside)
                    {
                        destination[target] = 0;
                        continue;
                    }
                    int t = y0 * width * 4, d = y1 * width * 4, a = x0 * 4, b = x1 * 4;
                    float w00 = (1 - wx) * (1 - wy) * pixels[t + a + 3], w01 = wx * (1 - wy) * pixels[t + b + 3];
                    float w10 = (1 - wx) * wy * pixels[d + a + 3], w11 = wx * wy * pixels[d + b + 3];
                    var value = w00 * pixels[t + a + c] + w01 * pixels[t + b + c] + w10 * pixels[d + a + c] + w11 * pixels[d + b + c];
                    destination[target] = value * (1f / 255f);
                }
            }
        }

        static (int First, int Second, float Weight, bool Inside) Tap(int i, float offset, float scale, int length)
        {
            var position = offset + (i + 0.5f) / scale;
            var source = Math.Clamp(position - 0.5f, 0f, length - 1);
            var floor = (int)source;
            return (floor, Math.Min(floor + 1, length - 1), source - floor, position >= 0 && position < length);
        }
    }

    [Fact]
    public void SampleBilinear_WhiteImage_255InsideZeroInThePadding()
    {
        // A 4×2 white image as is in a 8×4 input: columns 0–3 of rows 0–1 hold it.
        var white = new byte[4 * 2 * 4];
        Array.Fill(white, (byte)255);
        var tensor = new float[3 * 8 * 4];

        DetectorInput.SampleBilinear(white, 4, 2, 1f, 8, 4, tensor);

        for (var plane = 0; plane < 3; plane++)
        {
            for (var i = 0; i < 32; i++)
            {
                Assert.Equal(i % 8 < 4 && i / 8 < 2 ? 255f : 0f, tensor[plane * 32 + i], 3);
            }
        }
    }

    [Fact]
    public void SampleBilinear_OnePixel_PlanesAreBlueGreenRed()
    {
        byte[] pixel = [10, 20, 30, 255];
        var tensor = new float[3];

        DetectorInput.SampleBilinear(pixel, 1, 1, 1f, 1, 1, tensor);

        Assert.Equal([30f, 20f, 10f], tensor.Select(v => MathF.Round(v, 3)));
    }

    [Fact]
    public void SampleBilinear_TransparentPixels_CompositeOntoBlack()
    {
        var transparentWhite = new byte[2 * 2 * 4];
        for (var i = 0; i < transparentWhite.Length; i += 4)
        {
            transparentWhite[i] = transparentWhite[i + 1] = transparentWhite[i + 2] = 255;
        }
        var tensor = new float[3 * 2 * 2];

        DetectorInput.SampleBilinear(transparentWhite, 2, 2, 1f, 2, 2, tensor);

        Assert.All(tensor, v => Assert.Equal(0f, v));
    }

    private static BoxF Round(BoxF b) => new(MathF.Round(b.X, 3), MathF.Round(b.Y, 3), MathF.Round(b.Width, 3), MathF.Round(b.Height, 3));

    private static PointF Round(PointF p) => new(MathF.Round(p.X, 3), MathF.Round(p.Y, 3));
}
