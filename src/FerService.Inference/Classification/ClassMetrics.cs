namespace FerService.Inference.Classification;

internal sealed record ClassMetrics(string Label, int Support, double Precision, double Recall, double F1);
