namespace FerService.Training.Scenes;

/// <summary>What <see cref="SceneEvaluator"/> measures over a set of generated scenes; serialised as one JSON line.</summary>
/// <param name="FoundAt04">True faces matched by a reported box with IoU ≥ 0.4 (one box per face).</param>
/// <param name="FalseFacesPerImage">Reported boxes that match no true face at IoU ≥ 0.4, per scene.</param>
/// <param name="IouPercentiles">p5, p25, p50, p75, p95 of each true face's best IoU (0 when nothing overlaps it).</param>
/// <param name="AccuracyFound">The found faces, labelled from the scene.</param>
/// <param name="AccuracyFoundCrops">The same faces, labelled from their FER2013 crops (detect=false).</param>
/// <param name="AccuracyEndToEnd">All true faces; a missed face counts as wrong.</param>
/// <param name="AccuracyCrops">All true faces from their crops: what end to end is compared with.</param>
/// <param name="BoxSideRatio">Median reported side over true side, for the found faces.</param>
/// <param name="BoxCenterOffset">Median (x, y) offset of the reported box centre from the true one, in true sides.</param>
/// <param name="DetectableAlone">Faces the detector finds when the face is alone: upscaled to 192 px in the middle of a plain canvas.</param>
/// <param name="FoundOfDetectable">Of those, the share the scene finds at IoU ≥ 0.5 with the box found alone (mapped into the scene).</param>
/// <param name="ViewConsistency">Median IoU between a face's box in the scene and its box found alone: 1 means the view does not matter.</param>
internal sealed record SceneMetrics(string Usage, int Scenes, int Faces, double FoundAt04, double FoundAt05, double FalseFacesPerImage,
    double[] IouPercentiles, double AccuracyFound, double AccuracyFoundCrops, double AccuracyEndToEnd, double AccuracyCrops,
    double BoxSideRatio, double[] BoxCenterOffset, double DetectableAlone, double FoundOfDetectable, double ViewConsistency,
    string Classifier, IReadOnlyDictionary<string, string> Settings);
