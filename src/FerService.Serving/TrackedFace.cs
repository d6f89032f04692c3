using FerService.Inference;

namespace FerService.Serving;

/// <summary>A face of one video frame with its track id and probabilities smoothed along the track.</summary>
public sealed record TrackedFace(int Track, FaceEmotion Face, float[] Smoothed);
