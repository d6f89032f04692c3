using System.Diagnostics.Metrics;

namespace FerService.Inference;

/// <summary>The inference library's instruments, on one meter the host exports (e.g. as Prometheus /metrics).</summary>
public static class InferenceMetrics
{
    public const string MeterName = "FerService.Inference";

    public static readonly Meter Meter = new(MeterName);

    internal static readonly Histogram<double> DecodeSeconds = Meter.CreateHistogram<double>("fer.decode.duration", "s", "Image decode time");

    internal static readonly Histogram<double> DetectSeconds = Meter.CreateHistogram<double>("fer.detect.duration", "s", "Face detection and alignment time per image");

    internal static readonly Histogram<double> ClassifySeconds = Meter.CreateHistogram<double>("fer.classify.duration", "s", "Time from queueing an image's crops to their probabilities");

    internal static readonly Histogram<int> FacesPerImage = Meter.CreateHistogram<int>("fer.faces_per_image", description: "Faces classified per image");

    internal static readonly Histogram<int> BatchSizes = Meter.CreateHistogram<int>("fer.classifier.batch_size", description: "Crops per classifier run");

    internal static readonly Histogram<double> QueueWaitSeconds = Meter.CreateHistogram<double>("fer.classifier.queue_wait", "s", "Time a crop waits for the classifier");
}
