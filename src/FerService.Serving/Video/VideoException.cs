namespace FerService.Serving.Video;

public sealed class VideoException : Exception
{
    public VideoException() : this(VideoErrorKind.Corrupt, "The video could not be read.") { }
    public VideoException(string message) : this(VideoErrorKind.Corrupt, message) { }
    public VideoException(string message, Exception innerException) : base(message, innerException) => Kind = VideoErrorKind.Corrupt;
    public VideoException(VideoErrorKind kind, string message) : base(message) => Kind = kind;

    public VideoErrorKind Kind { get; }
}
