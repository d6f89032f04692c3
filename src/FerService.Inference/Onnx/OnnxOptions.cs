using System.ComponentModel.DataAnnotations;

namespace FerService.Inference.Onnx;

/// <summary>Section <c>Fer:Onnx</c>.</summary>
public sealed class OnnxOptions
{
    public const string Section = "Fer:Onnx";

    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>With <see cref="ExecutionProvider.Cuda"/>: refuse to start instead of falling back to CPU when CUDA is unavailable.</summary>
    public bool RequireGpu { get; set; }

    public int CudaDeviceId { get; set; }

    /// <summary>
    /// Threads per session run; 0 = one per core. One by default: the image workers (one per core) and the batch worker
    /// already run that many sessions at once, so a run's own threads only oversubscribe the cores (docs/decisions/threads.md).
    /// </summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>
    /// Let ONNX Runtime's intra-op threads spin while waiting for work. Spinning saves microseconds on an idle machine but
    /// burns cores that concurrent requests need when several runs share few cores.
    /// </summary>
    public bool IntraOpSpinning { get; set; } = true;

    /// <summary>ONNX Runtime graph optimisations applied when a session is created (a tuning knob; see the README's benchmark).</summary>
    public Microsoft.ML.OnnxRuntime.GraphOptimizationLevel GraphOptimizationLevel { get; set; } = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>
    /// The least severe ONNX Runtime message a session prints (to standard error, outside the service's log). Error by
    /// default: at Warning, sessions print notes on their graph rewrites at every start.
    /// </summary>
    public Microsoft.ML.OnnxRuntime.OrtLoggingLevel LogSeverityLevel { get; set; } = Microsoft.ML.OnnxRuntime.OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
}
