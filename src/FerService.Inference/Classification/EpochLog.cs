namespace FerService.Inference.Classification;

public sealed record EpochLog(int Epoch, double Loss, double TrainAccuracy, double PublicTestAccuracy, double Seconds);
