using System.ComponentModel.DataAnnotations;

namespace FerService.Inference.Onnx;

/// <summary>Section <c>Fer:Onnx</c>.</summary>
public sealed class OnnxOptions
{
    public const string Section = "Fer:Onnx";

    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>
    /// Threads per session run; 0 = one per core. One by default: the image workers (one per core) and the batch worker
    /// already run that many sessions at once, so a run's own threads only oversubscribe the cores (docs/decisions/threads.md).
    /// </summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; } = 1;
}
