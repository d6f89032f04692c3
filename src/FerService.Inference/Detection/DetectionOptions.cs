using System.ComponentModel.DataAnnotations;

namespace FerService.Inference.Detection;

/// <summary>Section <c>Fer:Detection</c>.</summary>
public sealed class DetectionOptions
{
    public const string Section = "Fer:Detection";

    /// <summary>BlazeFace ONNX file (fetched at build time, checked by sha256).</summary>
    [Required]
    public string ModelPath { get; set; } = "models/face_detection_back_256x256_barracuda.onnx";

    /// <summary>Default detector threshold; a request's <c>minScore</c> overrides it.</summary>
    [Range(0.01, 0.99)]
    public float MinScore { get; set; } = 0.6f;

    [Range(0.05, 0.95)]
    public float IouThreshold { get; set; } = 0.3f;

    /// <summary>
    /// Reported box = BlazeFace box scaled about its centre. BlazeFace boxes run from the brows to the chin; scaled,
    /// they frame the whole face as face datasets (FER2013 among them) crop it. Calibrated on FER2013 Training faces.
    /// </summary>
    [Range(0.5, 3.0)]
    public float BoxScale { get; set; } = 1.17f;

    /// <summary>Vertical shift of the reported box centre, as a fraction of its side (negative is up: BlazeFace centres on the nose).</summary>
    [Range(-0.5, 0.5)]
    public float BoxShift { get; set; } = -0.085f;

    /// <summary>
    /// Take a second, closer look at large images (long side ≥ 1.5 × the detector input), so small faces are found: crops
    /// around the whole view's weak candidates through <see cref="ProposalModelPath"/>, or, without that model, the
    /// overlapping half-size tiles through the main model (up to 6 extra runs).
    /// </summary>
    public bool Tiling { get; set; } = true;

    /// <summary>
    /// A region is looked at only when the whole-image view has a weak candidate (score at least this, below the
    /// detection threshold) in it: a face too small for the whole view still raises its anchors a little,
    /// so regions without any are skipped. A request's <c>minScore</c> below twice this lowers it to half that minScore.
    /// 0 looks at every half-size tile through the main model, proposal model or not.
    /// </summary>
    [Range(0.0, 0.99)]
    public float TileProposalScore { get; set; } = 0.07f;

    /// <summary>
    /// Short-range BlazeFace (128×128) for the closer look: one run on a crop around each weak candidate, a quarter of
    /// the pixels of a 256×256 tile run. Empty: half-size tiles through the main model instead.
    /// </summary>
    public string? ProposalModelPath { get; set; } = "models/face_detection_front_128x128_barracuda.onnx";

    /// <summary>Side of a proposal crop as a multiple of the weak candidate's box (the short-range model sees faces of ~15–75 % of its input).</summary>
    [Range(1.5, 8.0)]
    public float ProposalCropScale { get; set; } = 3f;

    /// <summary>
    /// A face found only by a proposal crop must score this much above the threshold: the crops look closely at weak
    /// candidates, clutter among them, and most false faces came from them.
    /// </summary>
    [Range(0.0, 0.5)]
    public float CloserLookScoreMargin { get; set; } = 0.05f;

    /// <summary>Most proposal crops per image, strongest candidates first.</summary>
    [Range(1, 32)]
    public int MaxProposalCrops { get; set; } = 8;

    /// <summary>
    /// The whole-image view keeps the photo's shape and shrinks it by this factor, so a large photo is seen at a higher
    /// resolution than its nominal square input gives (its small faces raise candidates for the closer look). The main
    /// model is rewritten at load to take any input size (<see cref="BlazeFaceGraph"/>); the view's long side stays
    /// between the model's nominal size and <see cref="MaxWholeViewSide"/>. 0: the fixed square letterbox.
    /// </summary>
    [Range(0.0, 16.0)]
    public float WholeViewDownscale { get; set; } = 2f;

    /// <summary>Longest side of the whole-image view in model input pixels: caps its cost on very large photos.</summary>
    [Range(128, 4096)]
    public int MaxWholeViewSide { get; set; } = 640;

    /// <summary>Resolves both model paths against the app's base directory (<see cref="Pipeline.FerModelOptions.Resolve"/>).</summary>
    internal void ResolveModelPaths()
    {
        ModelPath = Pipeline.FerModelOptions.Resolve(ModelPath);
        if (!string.IsNullOrEmpty(ProposalModelPath))
        {
            ProposalModelPath = Pipeline.FerModelOptions.Resolve(ProposalModelPath);
        }
    }

    /// <summary>A copy with both model paths resolved, so a caller's options stay as the caller wrote them.</summary>
    internal DetectionOptions WithResolvedModelPaths()
    {
        var copy = (DetectionOptions)MemberwiseClone();
        copy.ResolveModelPaths();
        return copy;
    }
}
