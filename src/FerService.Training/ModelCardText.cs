namespace FerService.Training;

/// <summary>What every classifier card this CLI writes says about use, limits and licence.</summary>
internal static class ModelCardText
{
    /// <summary>The card's line on lawful use; docs/responsible-use.md says more.</summary>
    public const string ResponsibleUse =
        "Labels the apparent expression, not an inner emotional state. In the EU, emotion recognition at the workplace and in education is prohibited "
        + "(AI Act, Art. 5(1)(f)); the service never stores or logs images. See docs/responsible-use.md.";

    public const string IntendedUse = "Research and product prototypes that estimate the apparent facial expression of a cropped, roughly frontal face "
        + "into 7 basic categories. Probabilities describe appearance, not a person's inner emotional state.";

    public static readonly IReadOnlyList<string> Limitations =
    [
        "Trained on FER2013: 48x48 grey web images with noisy labels (about 1 in 4 disputed by FER+ annotators).",
        "Disgust is rare (1.5% of training data) and fear is often confused with sad and surprise; treat those classes with care.",
        "Accuracy drops for profile faces, heavy occlusion, low light and faces under about 40 pixels.",
        "Demographic balance of FER2013 is undocumented; performance across groups has not been measured.",
        "Not for decisions about individuals (hiring, policing, health, credit) or covert monitoring.",
        ResponsibleUse,
    ];

    public const string License = "MIT (weights trained by this project on FER2013, whose own terms of use apply to the data)";
}
