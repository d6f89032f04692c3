using FerService.Inference.Detection;
using FerService.Inference.Imaging;

namespace FerService.Inference.Tests;

public sealed class DetectionTests
{
    private const int Input = 256;

    private static BlazeFaceDecoder.Candidate Candidate(float score, float cx, float cy, float size)
    {
        var c = new BlazeFaceDecoder.Candidate { Score = score, CenterX = cx, CenterY = cy, Width = size, Height = size };
        for (var k = 0; k < 2 * BlazeFaceDecoder.KeypointCount; k += 2)
        {
            c.Points[k] = cx + k * 0.001f;
            c.Points[k + 1] = cy;
        }
        return c;
    }

    [Fact]
    public void DecodeGrid_OneConfidentAnchor_DecodesCentreSizeAndKeypointsFromItsCell()
    {
        const int grid = 16, perCell = 2;
        var scores = Enumerable.Repeat(-10f, grid * grid * perCell).ToArray();
        var regressors = new float[scores.Length * BlazeFaceDecoder.RegressorsPerAnchor];
        var row = 3; var col = 12; var anchor = 1;
        var index = (row * grid + col) * perCell + anchor;
        scores[index] = 2f;
        var r = regressors.AsSpan(index * BlazeFaceDecoder.RegressorsPerAnchor);
        r[0] = 8; r[1] = -4; r[2] = 64; r[3] = 48;
        r[4] = -10; r[5] = -6;

        var output = new List<BlazeFaceDecoder.Candidate>();
        BlazeFaceDecoder.DecodeGrid(scores, regressors, grid, perCell, Input, 0.5f, output);

        var c = Assert.Single(output);
        Assert.Equal(BlazeFaceDecoder.Sigmoid(2f), c.Score, 5);
        Assert.Equal((col + 0.5f) / grid + 8f / Input, c.CenterX, 5);
        Assert.Equal((row + 0.5f) / grid - 4f / Input, c.CenterY, 5);
        Assert.Equal(64f / Input, c.Width, 5);
        Assert.Equal(48f / Input, c.Height, 5);
        Assert.Equal((col + 0.5f) / grid - 10f / Input, c.Points[0], 5);
        Assert.Equal((row + 0.5f) / grid - 6f / Input, c.Points[1], 5);
    }

    [Fact]
    public void DecodeGrid_ScoresBelowThreshold_Dropped()
    {
        var scores = new float[8 * 8 * 6];
        scores.AsSpan().Fill(BlazeFaceDecoder.Sigmoid(0) - 1); // logit ≈ −0.5 → p ≈ 0.38
        var regressors = new float[scores.Length * BlazeFaceDecoder.RegressorsPerAnchor];
        regressors.AsSpan().Fill(10);
        var output = new List<BlazeFaceDecoder.Candidate>();
        BlazeFaceDecoder.DecodeGrid(scores, regressors, 8, 6, Input, 0.5f, output);
        Assert.Empty(output);
    }

    [Fact]
    public void DecodeGrid_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() =>
            BlazeFaceDecoder.DecodeGrid(new float[10], new float[160], 16, 2, Input, 0.5f, []));
    }

    [Fact]
    public void WeightedNms_OverlappingCandidates_MergeIntoScoreWeightedMean()
    {
        var candidates = new List<BlazeFaceDecoder.Candidate>
        {
            Candidate(0.6f, 0.52f, 0.5f, 0.2f),
            Candidate(0.9f, 0.50f, 0.5f, 0.2f),
            Candidate(0.8f, 0.20f, 0.2f, 0.1f),
        };
        var results = BlazeFaceDecoder.WeightedNonMaxSuppression(candidates, 0.3f, 10);

        Assert.Equal(2, results.Count);
        Assert.Equal(0.9f, results[0].Score);
        Assert.Equal((0.50f * 0.9f + 0.52f * 0.6f) / 1.5f, results[0].CenterX, 5);
        Assert.Equal(0.8f, results[1].Score);
        Assert.Equal(0.20f, results[1].CenterX, 5);
    }

    [Fact]
    public void WeightedNms_MaxResults_Respected()
    {
        var candidates = new List<BlazeFaceDecoder.Candidate>();
        for (var i = 0; i < 5; i++)
        {
            candidates.Add(Candidate(0.5f + i * 0.1f, 0.1f + i * 0.2f, 0.5f, 0.1f));
        }
        var results = BlazeFaceDecoder.WeightedNonMaxSuppression(candidates, 0.3f, 2);
        Assert.Equal(2, results.Count);
        Assert.Equal(0.9f, results[0].Score, 5);
        Assert.Equal(0.8f, results[1].Score, 5);
    }

    [Theory]
    [InlineData(640, 480)]
    [InlineData(300, 900)]
    [InlineData(256, 256)]
    public void Letterbox_ToInputThenToImage_RoundTrips(int width, int height)
    {
        var letterbox = Letterbox.Fit(width, height, Input);
        foreach (var (x, y) in new[] { (0f, 0f), (width - 1f, height - 1f), (width * 0.3f, height * 0.8f) })
        {
            var input = letterbox.ToInput(x, y);
            Assert.InRange(input.X, 0f, 1f);
            Assert.InRange(input.Y, 0f, 1f);
            var back = letterbox.ToImage(input.X, input.Y);
            Assert.Equal(x, back.X, 2);
            Assert.Equal(y, back.Y, 2);
        }
    }

    [Fact]
    public void Letterbox_WideImage_CentredWithVerticalPadding()
    {
        var letterbox = Letterbox.Fit(640, 320, Input);
        Assert.Equal(0.4f, letterbox.Scale, 5);
        Assert.Equal(0f, letterbox.OffsetX, 5);
        Assert.Equal(64f, letterbox.OffsetY, 5);
        var corner = letterbox.ToImage(0, 64f / Input);
        Assert.Equal(0f, corner.X, 3);
        Assert.Equal(0f, corner.Y, 3);
    }

    [Fact]
    public void ToImage_CandidateInPaddedInput_MapsBoxAndKeypointsToImagePixels()
    {
        var letterbox = Letterbox.Fit(640, 320, Input);
        // A 100-pixel face at image (500, 100) is, in input units, at (500·0.4, 100·0.4 + 64) / 256 with side 40 / 256.
        var c = Candidate(0.9f, (550 * 0.4f) / Input, (150 * 0.4f + 64) / Input, 40f / Input);
        var face = BlazeFaceDecoder.ToImage(c, letterbox);
        Assert.Equal(500f, face.Box.X, 2);
        Assert.Equal(100f, face.Box.Y, 2);
        Assert.Equal(100f, face.Box.Width, 2);
        Assert.Equal(100f, face.Box.Height, 2);
        Assert.Equal(550f, face.Landmarks.RightEye.X, 2);
        Assert.Equal(150f, face.Landmarks.RightEye.Y, 2);
    }

    [Fact]
    public void IntersectionOverUnion_KnownBoxes_Expected()
    {
        Assert.Equal(1f, BoxF.IntersectionOverUnion(new(0, 0, 10, 10), new(0, 0, 10, 10)), 5);
        Assert.Equal(0f, BoxF.IntersectionOverUnion(new(0, 0, 10, 10), new(20, 20, 10, 10)), 5);
        Assert.Equal(50f / 150f, BoxF.IntersectionOverUnion(new(0, 0, 10, 10), new(5, 0, 10, 10)), 5);
    }

    [Fact]
    public void Tiles_SmallImage_None()
    {
        Assert.Empty(BlazeFaceDecoder.Tiles(300, 200, Input));
    }

    [Theory]
    [InlineData(640, 480)]
    [InlineData(4000, 3000)]
    [InlineData(1920, 400)]
    public void Tiles_LargeImage_CoverEveryPixelWithOverlapAtTwiceTheScale(int width, int height)
    {
        var tiles = BlazeFaceDecoder.Tiles(width, height, Input);
        Assert.NotEmpty(tiles);
        Assert.All(tiles, t => Assert.Equal(Math.Max(Input, (Math.Max(width, height) + 1) / 2), t.Side));
        foreach (var (px, py) in new[] { (0, 0), (width - 1, height - 1), (width / 2, height / 2), (width - 1, 0), (0, height - 1) })
        {
            Assert.Contains(tiles, t => px >= t.X && px < t.X + t.Side && py >= t.Y && py < t.Y + t.Side);
        }
        var xs = tiles.Select(t => t.X).Distinct().Order().ToArray();
        for (var i = 1; i < xs.Length; i++)
        {
            Assert.True(xs[i] - xs[i - 1] <= tiles[0].Side * 3 / 4, "neighbouring tiles overlap by at least a quarter");
        }
    }

    [Fact]
    public void AnyProposalInTile_WeakCandidateCentredInTile_True()
    {
        List<BlazeFaceDecoder.Candidate> proposals = [new() { Score = 0.2f, CenterX = 400, CenterY = 300, Width = 30, Height = 30 }];
        Assert.True(BlazeFaceDecoder.AnyProposalInTile(proposals, [], 320, 160, 320));
        Assert.False(BlazeFaceDecoder.AnyProposalInTile(proposals, [], 0, 0, 320), "centre outside the tile");
    }

    [Fact]
    public void AnyProposalInTile_WeakAnchorOfAFaceAlreadyFound_False()
    {
        List<BlazeFaceDecoder.Candidate> found = [new() { Score = 0.9f, CenterX = 410, CenterY = 310, Width = 60, Height = 60 }];
        List<BlazeFaceDecoder.Candidate> proposals = [new() { Score = 0.3f, CenterX = 400, CenterY = 300, Width = 50, Height = 50 }];
        Assert.False(BlazeFaceDecoder.AnyProposalInTile(proposals, found, 320, 160, 320));
        proposals.Add(new() { Score = 0.3f, CenterX = 600, CenterY = 450, Width = 20, Height = 20 });
        Assert.True(BlazeFaceDecoder.AnyProposalInTile(proposals, found, 320, 160, 320), "a second, unexplained weak candidate");
    }

    [Fact]
    public void ProposalCrops_WeakCandidates_StrongestFirstCentredAndScaled()
    {
        List<BlazeFaceDecoder.Candidate> proposals =
        [
            new() { Score = 0.1f, CenterX = 100, CenterY = 100, Width = 60, Height = 50 },
            new() { Score = 0.3f, CenterX = 500, CenterY = 300, Width = 20, Height = 20 },
        ];
        var crops = BlazeFaceDecoder.ProposalCrops(proposals, [], 3f, 128, 8);
        Assert.Equal([(436, 236, 128), (10, 10, 180)], crops);   // the small one gets the minimum side, the other 3 × 60
    }

    [Fact]
    public void ProposalCrops_NeighbouringAnchorsAndFoundFaces_ShareOrSkipCrops()
    {
        List<BlazeFaceDecoder.Candidate> found = [new() { Score = 0.9f, CenterX = 410, CenterY = 310, Width = 60, Height = 60 }];
        List<BlazeFaceDecoder.Candidate> proposals =
        [
            new() { Score = 0.3f, CenterX = 400, CenterY = 300, Width = 50, Height = 50 },   // a weaker anchor of the found face
            new() { Score = 0.2f, CenterX = 100, CenterY = 100, Width = 40, Height = 40 },
            new() { Score = 0.15f, CenterX = 120, CenterY = 90, Width = 40, Height = 40 },   // inside the middle half of that crop
            new() { Score = 0.1f, CenterX = 200, CenterY = 100, Width = 40, Height = 40 },   // outside it
        ];
        Assert.Equal([(36, 36, 128), (136, 36, 128)], BlazeFaceDecoder.ProposalCrops(proposals, found, 3f, 128, 8));
        Assert.Equal([(36, 36, 128)], BlazeFaceDecoder.ProposalCrops(proposals, found, 3f, 128, 1));
    }

    [Fact]
    public void LetterboxTile_MapsInputCornersToTileCorners()
    {
        var tile = Letterbox.Tile(320, 160, 320, Input);
        var topLeft = tile.ToImage(0, 0);
        var bottomRight = tile.ToImage(1, 1);
        Assert.Equal(320f, topLeft.X, 3);
        Assert.Equal(160f, topLeft.Y, 3);
        Assert.Equal(640f, bottomRight.X, 3);
        Assert.Equal(480f, bottomRight.Y, 3);
    }

    [Fact]
    public void ToFace_ScaleAndShift_ScalesAboutCentreThenMovesUp()
    {
        var c = Candidate(0.9f, 100, 100, 40);
        var face = BlazeFaceDecoder.ToFace(c, 1.5f, -0.1f);
        Assert.Equal(60f, face.Box.Width, 3);
        Assert.Equal(100f, face.Box.CenterX, 3);
        Assert.Equal(94f, face.Box.CenterY, 3);
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
    [InlineData(0, 0, 300, 128)] // factor 2, at the image corner
    [InlineData(211, 97, 300, 128)] // factor 2, inside, off the box grid
    [InlineData(-50, 330, 260, 128)] // reaching past the left and bottom edges
    [InlineData(400, 10, 500, 128)] // factor 3, past the right edge
    [InlineData(-3, 5, 517, 256)] // factor 2 into the larger input
    public void Preprocess_ShrunkView_SameAsSamplingTheWholeShrunkImage(int x, int y, int side, int size)
    {
        using var image = new FerService.Inference.Imaging.RgbaImage(641, 479);
        new Random(x * 7 + y).NextBytes(image.Pixels);
        var view = Letterbox.Tile(x, y, side, size);
        var factor = (int)(1 / view.Scale);
        var shrunkWidth = (image.Width + factor - 1) / factor;
        var shrunkHeight = (image.Height + factor - 1) / factor;
        var shrunk = new byte[shrunkWidth * shrunkHeight * 4];
        DetectorInput.BoxShrink(image, factor, shrunk);
        var expected = new float[size * size * 3];
        DetectorInput.SampleBilinear(shrunk, shrunkWidth, shrunkHeight, view with { Scale = view.Scale * factor }, size, expected);
        var actual = new float[size * size * 3];

        DetectorInput.Preprocess(image, view, size, actual);

        Assert.True(factor >= 2);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-4f);
        }
    }

    [Theory]
    [InlineData(97, 61, 0, 0, 97, 128)] // letterboxed whole image, upscaled
    [InlineData(97, 61, -20, 13, 150, 64)] // past the left edge, downscaled
    [InlineData(320, 240, 200, 150, 200, 128)] // past the right and bottom edges
    [InlineData(1, 1, 0, 0, 1, 8)] // a single pixel
    public void SampleBilinear_RandomRgba_BitIdenticalToPerChannelLoop(int width, int height, int x, int y, int side, int size)
    {
        var pixels = new byte[width * height * 4];
        new Random(width + x).NextBytes(pixels); // random alpha too
        var view = x == 0 && y == 0 && side == width ? Letterbox.Fit(width, height, size) : Letterbox.Tile(x, y, side, size);
        var expected = new float[size * size * 3];
        PerChannelBilinear(pixels, width, height, view, size, expected);
        var actual = new float[size * size * 3];

        DetectorInput.SampleBilinear(pixels, width, height, view, size, actual);

        Assert.Equal(expected, actual);
    }

    /// <summary>The straightforward per-channel form of <see cref="DetectorInput.SampleBilinear"/> (its first version).</summary>
    private static void PerChannelBilinear(byte[] pixels, int width, int height, Letterbox view, int size, float[] destination)
    {
        for (var v = 0; v < size; v++)
        {
            var (y0, y1, wy, rowInside) = Tap(v, view.OffsetY, view.Scale, height);
            for (var u = 0; u < size; u++)
            {
                var (x0, x1, wx, inside) = Tap(u, view.OffsetX, view.Scale, width);
                var o = (v * size + u) * 3;
                if (!rowInside || !inside)
                {
                    destination[o] = destination[o + 1] = destination[o + 2] = -1f;
                    continue;
                }
                int t = y0 * width * 4, d = y1 * width * 4, a = x0 * 4, b = x1 * 4;
                float w00 = (1 - wx) * (1 - wy) * pixels[t + a + 3], w01 = wx * (1 - wy) * pixels[t + b + 3];
                float w10 = (1 - wx) * wy * pixels[d + a + 3], w11 = wx * wy * pixels[d + b + 3];
                for (var c = 0; c < 3; c++)
                {
                    var value = w00 * pixels[t + a + c] + w01 * pixels[t + b + c] + w10 * pixels[d + a + c] + w11 * pixels[d + b + c];
                    destination[o + c] = value * (1f / (127.5f * 255f)) - 1f;
                }
            }
        }

        static (int First, int Second, float Weight, bool Inside) Tap(int i, float offset, float scale, int length)
        {
            var centre = i + 0.5f;
            var source = Math.Clamp((centre - offset) / scale - 0.5f, 0f, length - 1);
            var floor = (int)source;
            return (floor, Math.Min(floor + 1, length - 1), source - floor, centre >= offset && centre < offset + length * scale);
        }
    }

    [Fact]
    public void SampleBilinear_WhiteImageLetterboxed_InsideIsOneOutsideIsMinusOne()
    {
        // A 4×2 white image fitted into 8×8: scale 2, rows 2–5 hold the image, the rest is the black letterbox.
        var white = new byte[4 * 2 * 4];
        Array.Fill(white, (byte)255);
        var letterbox = Letterbox.Fit(4, 2, 8);
        var tensor = new float[8 * 8 * 3];

        DetectorInput.SampleBilinear(white, 4, 2, letterbox, 8, tensor);

        Assert.Equal(2f, letterbox.Scale);
        Assert.All(tensor.AsSpan(0, 8 * 2 * 3).ToArray(), v => Assert.Equal(-1f, v));
        Assert.All(tensor.AsSpan(8 * 2 * 3, 8 * 4 * 3).ToArray(), v => Assert.Equal(1f, v, 4));
        Assert.All(tensor.AsSpan(8 * 6 * 3).ToArray(), v => Assert.Equal(-1f, v));
    }

    [Fact]
    public void SampleBilinear_TransparentPixels_CompositeOntoBlack()
    {
        var transparentWhite = new byte[2 * 2 * 4];
        for (var i = 0; i < transparentWhite.Length; i += 4)
        {
            transparentWhite[i] = transparentWhite[i + 1] = transparentWhite[i + 2] = 255;
        }
        var tensor = new float[2 * 2 * 3];

        DetectorInput.SampleBilinear(transparentWhite, 2, 2, Letterbox.Fit(2, 2, 2), 2, tensor);

        Assert.All(tensor, v => Assert.Equal(-1f, v));
    }
}
