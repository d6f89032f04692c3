namespace FerService.Inference.Onnx;

/// <summary>
/// The one rule of every concurrency setting: a positive value is taken as it is, 0 means a fixed multiple of this
/// machine's cores (the setting's own multiple, named where it is used).
/// </summary>
public static class CoreCount
{
    public static int OrMultiple(int configured, int perCore) => configured > 0 ? configured : perCore * Environment.ProcessorCount;
}
