using Microsoft.Extensions.Options;

namespace FerService.Api.Hosting;

/// <summary>
/// Settings the service had and no longer reads. A deployment that still sets one is stopped at start-up and told what
/// became of it, instead of running quietly with a value other than the one it wrote.
/// </summary>
internal static class RemovedSettings
{
    /// <summary>Key → what replaced it (docs/configuration.md lists the same).</summary>
    internal static readonly IReadOnlyDictionary<string, string> Replacements = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["Fer:Detection:IouThreshold"] = "fixed at 0.3, with the detector",
        ["Fer:Detection:NestedOverlap"] = "fixed at 0.5, with the detector",
        ["Fer:Detection:CloserLookScore"] = "fixed at 0.3, with the detector",
        ["Fer:Detection:MaxCloserLooks"] = "fixed at 4, with the detector",
        ["Fer:Detection:BoxScale"] = "fixed at 1.11, fitted to the detector",
        ["Fer:Detection:BoxShift"] = "fixed at -0.017, fitted to the detector",
        ["Fer:Pipeline:TurboJpeg"] = "TurboJPEG is used wherever libturbojpeg.so.0 is installed",
        ["Fer:Pipeline:DecodeMinLongSide"] = "fixed at 1280, twice the detector's default input",
        ["Fer:Batching:QueueCapacity"] = "fixed at 4096 crops; Fer:Limits bounds the requests that fill it",
        ["Fer:Limits:MaxImageSide"] = "fixed at 16384; Fer:Limits:MaxPixelsPerImage is the limit to set",
        ["Fer:Access:Burst"] = "a client may send one minute's worth of Fer:Access:RequestsPerMinute at once",
        ["Fer:Cors:PreflightMaxAge"] = "fixed at 10 minutes",
        ["Fer:Proxy:ForwardLimit"] = "X-Forwarded-For is read from the right for as long as it names proxies in Fer:Proxy:TrustedNetworks",
        ["Fer:Onnx:RequireGpu"] = "Fer:Onnx:ExecutionProvider=Cuda now requires CUDA; Auto falls back to CPU",
        ["Fer:Onnx:CudaDeviceId"] = "set CUDA_VISIBLE_DEVICES",
        ["Fer:Onnx:IntraOpSpinning"] = "fixed on",
        ["Fer:Onnx:GraphOptimizationLevel"] = "fixed at ORT_ENABLE_ALL",
        ["Fer:Onnx:LogSeverityLevel"] = "fixed at errors",
        ["Fer:Annotation:FontPath"] = "DejaVu Sans from Debian's fonts-dejavu-core, where the container images copy it too",
        ["Fer:Stream:TrackIou"] = "fixed at 0.3",
        ["Fer:Video:DefaultFps"] = "2 frames per second unless the request names fps",
        ["Fer:Video:FfprobePath"] = "ffprobe is taken from Fer:Video:FfmpegPath's folder",
    };

    /// <summary>Refuses start-up (with the rest of the options validation) while any removed key is set.</summary>
    public static IServiceCollection AddRemovedSettingsCheck(this IServiceCollection services)
    {
        services.AddSingleton<IValidateOptions<Check>, Validator>();
        services.AddOptions<Check>().ValidateOnStart();
        return services;
    }

    internal sealed class Check;

    private sealed class Validator(IConfiguration configuration) : IValidateOptions<Check>
    {
        public ValidateOptionsResult Validate(string? name, Check options)
        {
            var found = new List<string>();
            foreach (var (key, replacement) in Replacements)
            {
                if (configuration.GetSection(key).Exists())
                {
                    found.Add($"{key} was removed ({replacement}); delete it from the configuration.");
                }
            }
            return found.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(found);
        }
    }
}
