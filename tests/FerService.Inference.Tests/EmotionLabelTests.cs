using FerService.Inference.Classification;
using FerService.Tests.Shared;

namespace FerService.Inference.Tests;

/// <summary>The one place class probabilities become a label, a confidence and an uncertainty flag.</summary>
public sealed class EmotionLabelTests
{
    private static readonly ModelCard Card = new(ModelManifest.Load(TestPaths.ServiceClassifierManifest));

    [Fact]
    public void Label_ClearWinner_ItsNameProbabilityAndNotUncertain()
    {
        float[] probabilities = [0.01f, 0.01f, 0.01f, 0.9f, 0.03f, 0.02f, 0.02f];

        var label = Card.Label(probabilities);

        Assert.Equal(new EmotionLabel(3, "happy", 0.9f, false), label);
    }

    [Fact]
    public void Label_TieUnderTheCardsThreshold_FirstClassAndUncertain()
    {
        float[] probabilities = [0.3f, 0.05f, 0.3f, 0.05f, 0.1f, 0.1f, 0.1f];

        var label = Card.Label(probabilities);

        Assert.True(Card.UncertaintyThreshold > 0.3, "the shipped card flags a top probability of 0.3");
        Assert.Equal(new EmotionLabel(0, "angry", 0.3f, true), label);
    }

    [Fact]
    public void AverageWithMirror_TwoViews_MeanOfEachClass()
    {
        float[] face = [0.6f, 0.4f];

        ModelCard.AverageWithMirror(face, [0.2f, 0.8f]);

        Assert.Equal([0.4f, 0.6f], face);
    }
}
