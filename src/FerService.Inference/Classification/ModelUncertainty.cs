namespace FerService.Inference.Classification;

/// <summary>
/// The calibrated top probability under which a face's label is flagged uncertain, chosen on <see cref="Split"/> with
/// flip averaging (as the service answers) as the lowest threshold at which the faces not flagged are labelled right at
/// least <see cref="TargetAccuracy"/> of the time.
/// </summary>
internal sealed record ModelUncertainty(double Threshold, double TargetAccuracy, string Split, double ShareFlagged, double AccuracyNotFlagged,
    double AccuracyFlagged);
