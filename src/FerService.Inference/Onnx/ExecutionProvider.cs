namespace FerService.Inference.Onnx;

public enum ExecutionProvider
{
    Cpu,
    /// <summary>CUDA; without it the service falls back to CPU with a warning, or refuses to start with <see cref="OnnxOptions.RequireGpu"/>.</summary>
    Cuda,
    /// <summary>CUDA when the GPU build and a device are present, otherwise CPU as an expected outcome: no warning, never refuses.</summary>
    Auto,
}
