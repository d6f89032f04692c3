namespace FerService.Inference.Classification;

internal sealed record EpochLog(int Epoch, double Loss, double TrainAccuracy, double PublicTestAccuracy, double Seconds);
