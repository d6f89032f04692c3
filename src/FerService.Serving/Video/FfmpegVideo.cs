using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace FerService.Serving.Video;

/// <summary>
/// Video through ffmpeg and ffprobe, each run as a separate process so a malformed file can crash it, never the service:
/// files only (the protocol whitelist keeps playlists and references from reaching the network), no stdin, one decoding
/// thread, the process killed when the caller cancels. Frames come out sampled at a given rate as BMP on a pipe, which
/// the service's own decoder reads like any upload (docs/decisions/video.md).
/// </summary>
internal sealed class FfmpegVideo
{
    /// <summary>Largest frame accepted from the pipe (a 4096×4096 BMP is 48 MiB; frames are scaled far below that).</summary>
    private const int MaxFrameBytes = 64 * 1024 * 1024;

    /// <summary>.NET reports a process ended by signal n as exit code 128 + n (ffmpeg itself exits 255 when it is signalled).</summary>
    private const int SignalExitBase = 128;

    private readonly string? _ffmpeg;
    private readonly string? _ffprobe;

    private readonly long _memoryCeiling;

    /// <param name="ffmpeg">Program name (searched on PATH) or path.</param>
    /// <param name="ffprobe">Program name (searched on PATH) or path.</param>
    /// <param name="memoryCeiling">Address-space ceiling of each ffmpeg and ffprobe process in bytes; 0 = none.</param>
    public FfmpegVideo(string ffmpeg = "ffmpeg", string ffprobe = "ffprobe", long memoryCeiling = 0)
    {
        _ffmpeg = Locate(ffmpeg);
        _ffprobe = Locate(ffprobe);
        _memoryCeiling = memoryCeiling;
    }

    /// <summary>Both programs were found.</summary>
    public bool IsAvailable => _ffmpeg is not null && _ffprobe is not null;

    internal static string? Locate(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? program : null;
        }
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>The first video stream's codec, size and the duration.</summary>
    /// <exception cref="VideoException">No ffprobe (Unavailable), or the file cannot be read or has no video stream (Corrupt).</exception>
    public async Task<VideoInfo> ProbeAsync(string path, string container, CancellationToken cancellationToken)
    {
        var probe = _ffprobe ?? throw Unavailable();
        using var process = Start(probe, ["-v", "error", "-protocol_whitelist", "file", "-select_streams", "v:0",
            "-show_entries", "stream=codec_name,width,height,duration:format=duration", "-of", "json", path]);
        using var kill = cancellationToken.Register(() => Kill(process));
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var output = await process.StandardOutput.ReadToEndAsync(CancellationToken.None).ConfigureAwait(false);
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (process.ExitCode != 0)
        {
            throw new VideoException(VideoErrorKind.Corrupt, $"The {container} file could not be read: {Tail(await errors.ConfigureAwait(false), path)}");
        }
        try
        {
            using var json = JsonDocument.Parse(output);
            if (!json.RootElement.TryGetProperty("streams", out var streams) || streams.GetArrayLength() == 0)
            {
                throw new VideoException(VideoErrorKind.Corrupt, $"The {container} file holds no video stream.");
            }
            var stream = streams[0];
            var duration = Seconds(stream, "duration") ?? (json.RootElement.TryGetProperty("format", out var format) ? Seconds(format, "duration") : null);
            return new VideoInfo(container, stream.TryGetProperty("codec_name", out var codec) ? codec.GetString() ?? "?" : "?",
                stream.GetProperty("width").GetInt32(), stream.GetProperty("height").GetInt32(),
                duration ?? throw new VideoException(VideoErrorKind.Corrupt, $"The {container} file states no duration."));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new VideoException($"ffprobe's description of the {container} file could not be read.", e);
        }
    }

    /// <summary>
    /// Frames sampled at <paramref name="fps"/> (frame k shows time k / fps), scaled so neither side exceeds
    /// <paramref name="maxSide"/>, each a complete BMP file.
    /// </summary>
    /// <exception cref="VideoException">No ffmpeg (Unavailable), it failed before the first frame (Corrupt), or it died (DecoderFailed).</exception>
    public async IAsyncEnumerable<byte[]> FramesAsync(string path, double fps, int maxSide, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var ffmpeg = _ffmpeg ?? throw Unavailable();
        var rate = fps.ToString("0.###", CultureInfo.InvariantCulture);
        using var process = Start(ffmpeg, ["-nostdin", "-v", "error", "-protocol_whitelist", "file,pipe", "-threads", "1", "-i", path,
            "-an", "-sn", "-dn", "-vf", $"fps={rate},scale=w=min(iw\\,{maxSide}):h=min(ih\\,{maxSide}):force_original_aspect_ratio=decrease",
            "-c:v", "bmp", "-f", "image2pipe", "pipe:1"]);
        using var kill = cancellationToken.Register(() => Kill(process));
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var output = process.StandardOutput.BaseStream;
        var header = new byte[14];
        var frames = 0;
        var ended = false;
        try
        {
            while (await ReadFrameAsync(output, header, cancellationToken).ConfigureAwait(false) is { } frame)
            {
                frames++;
                yield return frame;
            }
            ended = true;
        }
        finally
        {
            // The caller stopped early: nothing will read the pipe again. At the pipe's end ffmpeg is left to exit by itself,
            // so its exit status says whether it finished or died.
            if (!ended)
            {
                Kill(process);
            }
        }
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (process.ExitCode != 0 || frames == 0)
        {
            throw Failure(process.ExitCode, frames, Tail(await errors.ConfigureAwait(false), path));
        }
    }

    /// <summary>
    /// Why the decoder stopped without finishing. A file it could not read at all is the client's (Corrupt); a decoder killed
    /// by a signal (the memory ceiling, the kernel's out-of-memory killer, an operator), one that ran out of memory, or one
    /// that failed after it had decoded frames is the server's (DecoderFailed): its answer would cover part of the video.
    /// </summary>
    private static VideoException Failure(int exitCode, int frames, string lastLine)
    {
        var outOfMemory = lastLine.Contains("Cannot allocate memory", StringComparison.OrdinalIgnoreCase);
        if (exitCode > SignalExitBase || outOfMemory || (exitCode != 0 && frames > 0))
        {
            var how = exitCode > SignalExitBase && exitCode <= SignalExitBase + 64 ? $"was killed by signal {exitCode - SignalExitBase}"
                : outOfMemory ? "ran out of memory" : $"exited with code {exitCode}";
            return new VideoException(VideoErrorKind.DecoderFailed, $"The decoder (ffmpeg) {how} after {frames} frames: {lastLine}");
        }
        return new VideoException(VideoErrorKind.Corrupt, $"No frame could be decoded: {lastLine}");
    }

    /// <summary>The next BMP frame on the pipe; null at its end (a partial frame also ends it: ffmpeg stopped).</summary>
    private static async Task<byte[]?> ReadFrameAsync(Stream output, byte[] header, CancellationToken cancellationToken)
    {
        try
        {
            var read = await output.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, CancellationToken.None).ConfigureAwait(false);
            if (read < header.Length)
            {
                return null;
            }
            var size = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(2));
            if (header[0] != (byte)'B' || header[1] != (byte)'M' || size < header.Length || size > MaxFrameBytes)
            {
                throw new VideoException("ffmpeg wrote something other than a frame.");
            }
            var frame = new byte[size];
            header.CopyTo(frame, 0);
            await output.ReadExactlyAsync(frame.AsMemory(header.Length), CancellationToken.None).ConfigureAwait(false);
            return frame;
        }
        catch (Exception e) when (e is IOException && cancellationToken.IsCancellationRequested)
        {
            // The process was killed under the read.
            throw new OperationCanceledException(cancellationToken);
        }
        catch (EndOfStreamException)
        {
            return null;
        }
    }

    private Process Start(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new VideoException(VideoErrorKind.Unavailable, $"{Path.GetFileName(program)} could not be started.");
        if (_memoryCeiling > 0)
        {
            MemoryCeiling.TrySet(process.Id, _memoryCeiling);
        }
        return process;
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
    }

    private static double? Seconds(System.Text.Json.JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
        && double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ? seconds : null;

    /// <summary>The last line ffmpeg printed, without the temporary file's path.</summary>
    private static string Tail(string errors, string path)
    {
        var lines = errors.Replace(path, "input", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var last = lines.Length > 0 ? lines[^1] : "no message";
        return last.Length > 300 ? last[..300] : last;
    }

    private static VideoException Unavailable() => new(VideoErrorKind.Unavailable, VideoAnalyzer.UnavailableMessage);
}
