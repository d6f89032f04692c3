namespace FerService.Inference.Classification;

public sealed record ClassMetrics(string Label, int Support, double Precision, double Recall, double F1);
