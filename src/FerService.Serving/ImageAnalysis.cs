using FerService.Inference;

namespace FerService.Serving;

/// <summary>One image's answer: its size in source pixels, its faces, and the timings.</summary>
public sealed record ImageAnalysis(int Width, int Height, IReadOnlyList<FaceEmotion> Faces, AnalysisTimings Timings);
