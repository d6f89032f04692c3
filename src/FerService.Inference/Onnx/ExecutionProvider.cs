namespace FerService.Inference.Onnx;

public enum ExecutionProvider
{
    Cpu,
    /// <summary>CUDA, required: without the GPU build and a device the service refuses to start.</summary>
    Cuda,
    /// <summary>CUDA when the GPU build and a device are present, otherwise CPU (logged, never refuses).</summary>
    Auto,
}
