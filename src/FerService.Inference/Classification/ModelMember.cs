namespace FerService.Inference.Classification;

/// <summary>One model inside an ensemble: its card's name, file and sha256, and its own PublicTest accuracy.</summary>
internal sealed record ModelMember(string Name, string File, string Sha256, double Accuracy, double AccuracyFlipAveraged);
