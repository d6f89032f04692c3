namespace FerService.Serving;

/// <summary>Where an image's time went, in milliseconds (classification includes the wait for a batch).</summary>
public sealed record AnalysisTimings(double DecodeMs, double DetectMs, double ClassifyMs);
