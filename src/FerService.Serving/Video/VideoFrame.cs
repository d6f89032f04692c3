namespace FerService.Serving.Video;

/// <summary>One sampled frame: its index, its time in the video, its size and its faces with their track ids.</summary>
public sealed record VideoFrame(int Index, double Seconds, int Width, int Height, IReadOnlyList<TrackedFace> Faces);
