using FerService.Inference.Detection;

namespace FerService.Inference.Pipeline;

/// <summary>What a caller asks of one image. <c>Detect = false</c> classifies the whole image as one face.</summary>
public sealed record AnalysisRequest(bool Detect, DetectionRequest Detection);
