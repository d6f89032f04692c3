using System.Runtime.InteropServices;

namespace FerService.Serving.Video;

/// <summary>
/// A hard ceiling on a child process's address space (Linux <c>RLIMIT_AS</c>, set from outside with <c>prlimit(2)</c>
/// through libc): past it the process's allocations fail and it exits, never the container. It needs no shell and no
/// <c>prlimit</c> program, so it works in the chiseled image. It is set just after the process starts, while the dynamic
/// loader is still mapping ffmpeg's libraries and long before a frame is decoded.
/// </summary>
internal static partial class MemoryCeiling
{
    private const int RlimitAs = 9; // Linux, x86-64 and arm64

    /// <summary>Sets the ceiling of <paramref name="pid"/>; false where the platform or the kernel refuses (the process runs without).</summary>
    public static bool TrySet(int pid, long bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes <= 0)
        {
            return false;
        }
        var limit = Marshal.AllocHGlobal(2 * sizeof(long));
        try
        {
            Marshal.WriteInt64(limit, 0, bytes);
            Marshal.WriteInt64(limit, sizeof(long), bytes);
            return Prlimit(pid, RlimitAs, limit, IntPtr.Zero) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        finally
        {
            Marshal.FreeHGlobal(limit);
        }
    }

    [LibraryImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static partial int Prlimit(int pid, int resource, IntPtr newLimit, IntPtr oldLimit);
}
