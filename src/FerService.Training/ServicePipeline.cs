using System.Globalization;
using FerService.Inference.Detection;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FerService.Training;

/// <summary>
/// The service's own pipeline outside the service, for the commands that measure it (<c>evaluate-scenes</c>,
/// <c>evaluate-photos</c>, <c>framing</c>): wired as <c>AddEmotionPipeline</c> wires it, with <c>--set</c> overrides.
/// </summary>
internal static class ServicePipeline
{
    /// <summary>The service's pipeline as <c>AddEmotionPipeline</c> wires it; relative model paths resolved against <paramref name="root"/>.</summary>
    public static ServiceProvider Build(IReadOnlyDictionary<string, string> settings, string root)
    {
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddEmotionPipeline();
        var remaining = new Dictionary<string, string>(settings, StringComparer.OrdinalIgnoreCase);
        services.Configure<DetectionOptions>(o =>
        {
            Apply(o, "Detection", remaining);
            o.ModelPath = Path.GetFullPath(o.ModelPath, root);
        });
        services.Configure<FerModelOptions>(o =>
        {
            Apply(o, "Models", remaining);
            o.ClassifierManifest = Path.GetFullPath(o.ClassifierManifest, root);
        });
        services.Configure<PipelineOptions>(o => Apply(o, "Pipeline", remaining));
        services.Configure<BatchingOptions>(o => Apply(o, "Batching", remaining));
        services.Configure<OnnxOptions>(o => Apply(o, "Onnx", remaining));
        var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<EmotionPipeline>();
        if (remaining.Count > 0)
        {
            provider.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new ArgumentException($"Unknown setting(s): {string.Join(", ", remaining.Keys)} (use Section:Property, e.g. Detection:MaxInputSide).");
        }
        return provider;
    }

    private static void Apply(object options, string section, Dictionary<string, string> settings)
    {
        foreach (var property in options.GetType().GetProperties())
        {
            if (settings.Remove($"{section}:{property.Name}", out var value))
            {
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                try
                {
                    property.SetValue(options, type.IsEnum ? Enum.Parse(type, value, ignoreCase: true)
                        : type == typeof(TimeSpan) ? TimeSpan.Parse(value, CultureInfo.InvariantCulture)
                        : Convert.ChangeType(value, type, CultureInfo.InvariantCulture));
                }
                catch (Exception e) when (e is FormatException or InvalidCastException or ArgumentException or OverflowException)
                {
                    throw new ArgumentException($"{section}:{property.Name} cannot be '{value}' ({type.Name} expected).", e);
                }
            }
        }
    }

    /// <summary>Every face the configured detector finds at its configured threshold, as many as a scene can hold.</summary>
    public static AnalysisRequest DetectAll(ServiceProvider services) => new(true,
        services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DetectionOptions>>().Value.DefaultRequest(64));

    /// <summary>Analyses <paramref name="images"/> a few at a time, as concurrent requests would be, so the classifier batches across them.</summary>
    public static List<ImageAnalysis> AnalyzeAll(EmotionPipeline pipeline, List<ReadOnlyMemory<byte>> images, AnalysisRequest request)
    {
        const int InFlight = 8;
        var results = new ImageAnalysis[images.Count];
        using var gate = new SemaphoreSlim(InFlight);
        var tasks = new List<Task>(images.Count);
        for (var i = 0; i < images.Count; i++)
        {
            var index = i;
            gate.Wait();
            tasks.Add(Task.Run(async () =>
            {
                try
                {
                    results[index] = await pipeline.AnalyzeAsync(images[index], request, CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        Task.WaitAll([.. tasks]);
        return [.. results];
    }
}
