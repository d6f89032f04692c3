using System.Runtime.InteropServices;

namespace FerService.Training;

internal static partial class NativeTuning
{
    private const int MallocTrimThreshold = -1;
    private const int MallocMmapMax = -4;

    /// <summary>
    /// libtorch allocates and frees large activation buffers every step; with glibc's default mmap
    /// threshold each one becomes an mmap/munmap pair plus page faults, which made training 2–5× slower
    /// here. Serving them from the heap and never trimming it removes that cost.
    /// </summary>
    /// <returns>Whether glibc accepted both settings.</returns>
    public static bool TuneMallocForTraining()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        return mallopt(MallocMmapMax, 0) == 1 & mallopt(MallocTrimThreshold, -1) == 1;
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int mallopt(int parameter, int value);
}
