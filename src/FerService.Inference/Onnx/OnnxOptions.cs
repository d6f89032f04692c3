using System.ComponentModel.DataAnnotations;

namespace FerService.Inference.Onnx;

public enum ExecutionProvider
{
    Cpu,
    Cuda,
    /// <summary>CUDA when the GPU build and a device are present, otherwise CPU.</summary>
    Auto,
}

/// <summary>Section <c>Fer:Onnx</c>.</summary>
public sealed class OnnxOptions
{
    public const string Section = "Fer:Onnx";

    public ExecutionProvider ExecutionProvider { get; set; } = ExecutionProvider.Cpu;

    /// <summary>Refuse to start instead of falling back to CPU when CUDA was asked for and is unavailable.</summary>
    public bool RequireGpu { get; set; }

    public int CudaDeviceId { get; set; }

    /// <summary>Threads per session run; 0 = one per core. The batch worker runs one classifier batch at a time.</summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; }

    /// <summary>
    /// Let ONNX Runtime's intra-op threads spin while waiting for work. Spinning saves microseconds on an idle machine but
    /// burns cores that concurrent requests need when several runs share few cores.
    /// </summary>
    public bool IntraOpSpinning { get; set; } = true;

    /// <summary>ONNX Runtime graph optimisations applied when a session is created (a tuning knob; see the README's benchmark).</summary>
    public Microsoft.ML.OnnxRuntime.GraphOptimizationLevel GraphOptimizationLevel { get; set; } = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL;
}
