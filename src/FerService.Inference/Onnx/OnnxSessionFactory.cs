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
            GraphOptimizationLevel = _options.GraphOptimizationLevel,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            // 0 stays 0: ONNX Runtime then counts physical cores, which on SMT hosts is what its threads should use.
            IntraOpNumThreads = _options.IntraOpThreads,
            InterOpNumThreads = 1,
            LogSeverityLevel = _options.LogSeverityLevel,
        };
        try
        {
            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", _options.IntraOpSpinning ? "1" : "0");
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
            sessionOptions.AppendExecutionProvider_CUDA(_options.CudaDeviceId);
            ActiveProvider = "CUDA";
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            if (_options.RequireGpu && _options.ExecutionProvider == ExecutionProvider.Cuda)
            {
                throw new InvalidOperationException(
                    $"CUDA was required for {name} but is not available: {e.Message} Build with -p:FerGpu=true and run on a machine with CUDA 12 and cuDNN 9.", e);
            }
            // Auto asked for CPU as the expected outcome where there is no GPU; Cuda did not.
            if (_options.ExecutionProvider == ExecutionProvider.Auto)
            {
                LogCudaAbsent(logger, name);
            }
            else
            {
                LogCudaFallback(logger, name, e.Message);
            }
            ActiveProvider = "CPU";
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "CUDA execution provider unavailable for {Model}; falling back to CPU: {Reason}")]
    private static partial void LogCudaFallback(ILogger logger, string model, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "No CUDA for {Model}; running on CPU as Auto allows")]
    private static partial void LogCudaAbsent(ILogger logger, string model);
}
