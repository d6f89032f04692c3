using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace FerService.Inference.Onnx;

/// <summary>Creates inference sessions with the configured execution provider and records which one is in use.</summary>
internal sealed partial class OnnxSessionFactory(IOptions<OnnxOptions> options, ILogger<OnnxSessionFactory> logger)
{
    private readonly OnnxOptions _options = options.Value;

    /// <summary>"CPU" or "CUDA": what the sessions created so far actually use.</summary>
    public string ActiveProvider { get; private set; } = "CPU";

    public InferenceSession Create(byte[] model, string name)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            // 0 stays 0: ONNX Runtime then counts physical cores, which on SMT hosts is what its threads should use.
            IntraOpNumThreads = _options.IntraOpThreads,
            InterOpNumThreads = 1,
            // Sessions write to standard error, outside the service's log; at Warning they note their graph rewrites at every start.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        try
        {
            if (_options.ExecutionProvider is ExecutionProvider.Cuda or ExecutionProvider.Auto)
            {
                TryAppendCuda(sessionOptions, name);
            }
            return new InferenceSession(model, sessionOptions);
        }
        finally
        {
            sessionOptions.Dispose();
        }
    }

    private void TryAppendCuda(SessionOptions sessionOptions, string name)
    {
        try
        {
            // The first visible device: CUDA_VISIBLE_DEVICES (or the container runtime's GPU request) picks which one that is.
            sessionOptions.AppendExecutionProvider_CUDA(0);
            ActiveProvider = "CUDA";
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            if (_options.ExecutionProvider == ExecutionProvider.Cuda)
            {
                throw new InvalidOperationException(
                    $"CUDA was asked for ({name}) but is not available: {e.Message} Build with -p:FerGpu=true and run on a machine with CUDA 12 and cuDNN 9, or set Fer:Onnx:ExecutionProvider to Auto to fall back to CPU.", e);
            }
            LogCudaAbsent(logger, name, e.Message);
            ActiveProvider = "CPU";
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No CUDA for {Model}; running on CPU as Auto allows: {Reason}")]
    private static partial void LogCudaAbsent(ILogger logger, string model, string reason);
}
