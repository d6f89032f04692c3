namespace FerService.Serving.Video;

/// <summary>What ffprobe says of a file's first video stream.</summary>
public sealed record VideoInfo(string Container, string Codec, int Width, int Height, double DurationSeconds);
