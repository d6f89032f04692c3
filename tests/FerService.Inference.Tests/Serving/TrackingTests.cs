using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Pipeline;
using FerService.Serving;
using FerService.Tests.Shared;

namespace FerService.Inference.Tests.Serving;

public sealed class TrackingTests
{
    private static readonly ModelCard Card = new(ModelManifest.Load(TestPaths.ServiceClassifierManifest));

    /// <summary>A face with the given class probabilities (padded with zeros to the card's seven labels).</summary>
    private static FaceEmotion Face(float x, float y, params float[] probabilities)
    {
        var all = new float[Card.Labels.Count];
        probabilities.CopyTo(all, 0);
        return Card.Face(new BoxF(x, y, 100, 100), 0.9f, null, all);
    }

    [Fact]
    public void Update_TwoFacesMovingAndANewOne_KeepIdsAndAddOne()
    {
        var tracker = new FaceTracker();
        var first = tracker.Update([Face(0, 0, 1, 0), Face(300, 0, 0, 1)]);
        var second = tracker.Update([Face(310, 5, 0, 1), Face(12, 4, 1, 0), Face(600, 300, 1, 0)]);

        Assert.Equal(first[1].Track, second[0].Track);
        Assert.Equal(first[0].Track, second[1].Track);
        Assert.DoesNotContain(second[2].Track, new[] { first[0].Track, first[1].Track });
    }

    [Fact]
    public void Update_FaceGoneAndBackFarAway_GetsANewId()
    {
        var tracker = new FaceTracker();
        var first = tracker.Update([Face(0, 0, 1, 0)]);
        tracker.Update([]);
        var third = tracker.Update([Face(0, 0, 1, 0)]);
        Assert.NotEqual(first[0].Track, third[0].Track);
    }

    [Fact]
    public void Update_NoisyAlternatingProbabilities_SmoothingFlipsTheLabelLessThanRawFrames()
    {
        // A face that is mostly happy (class 1), but every third frame the classifier leans to sad (class 0).
        var tracker = new FaceTracker(smoothing: 0.6f);
        int rawFlips = 0, smoothedFlips = 0, lastRaw = -1, lastSmoothed = -1;
        for (var frame = 0; frame < 30; frame++)
        {
            float[] probabilities = frame % 3 == 2 ? [0.6f, 0.4f] : [0.35f, 0.65f];
            var tracked = Assert.Single(tracker.Update([Face(frame, 0, probabilities)]));
            var raw = Softmax.ArgMax(probabilities);
            var smoothed = Softmax.ArgMax(tracked.Smoothed);
            rawFlips += lastRaw >= 0 && raw != lastRaw ? 1 : 0;
            smoothedFlips += lastSmoothed >= 0 && smoothed != lastSmoothed ? 1 : 0;
            (lastRaw, lastSmoothed) = (raw, smoothed);
            Assert.Equal(1f, tracked.Smoothed.Sum(), 4);
        }
        Assert.True(rawFlips >= 18, $"raw flips {rawFlips}");
        Assert.Equal(0, smoothedFlips);
    }
}
