using Microsoft.Extensions.Options;

namespace FerService.Api.Video;

/// <summary>
/// The temporary files video uploads are stored in (<see cref="VideoOptions.TempDirectory"/>): each deleted when closed, so
/// nothing outlives its request. Overridable so the tests can stand in a disk that fills up where they cannot mount one.
/// </summary>
internal class VideoFiles(IOptions<VideoOptions> options)
{
    private const int Enospc = 28, Edquot = 122, WindowsDiskFull = unchecked((int)0x80070070), WindowsHandleDiskFull = unchecked((int)0x80070027);

    public string Directory { get; } = options.Value.TempDirectory is { Length: > 0 } directory ? directory : Path.GetTempPath();

    /// <summary>A new, empty file, named <c>fer-video-&lt;32 hex digits&gt;</c>.</summary>
    public virtual FileStream Create() => new(Path.Combine(Directory, $"fer-video-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.ReadWrite,
        FileShare.Read, 1 << 16, FileOptions.DeleteOnClose | FileOptions.Asynchronous);

    /// <summary>The platform's "no space left on device" (or "disk quota exceeded"), as .NET reports it in <see cref="Exception.HResult"/>.</summary>
    public static bool IsOutOfSpace(IOException error) => error.HResult is Enospc or Edquot or WindowsDiskFull or WindowsHandleDiskFull;
}
