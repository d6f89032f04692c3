using System.Diagnostics.Metrics;

namespace FerService.Inference;

/// <summary>The inference library's instruments, on one meter the host exports (e.g. as Prometheus /metrics).</summary>
public static class InferenceMetrics
{
    public const string MeterName = "FerService.Inference";

    public static readonly Meter Meter = new(MeterName);

    // Bucket advice: exporters' defaults (0, 5, 10, 25, … with no unit) would put every stage time in the first bucket.
    private static readonly InstrumentAdvice<double> StageSeconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
    };

    private static readonly InstrumentAdvice<int> Counts = new() { HistogramBucketBoundaries = [0, 1, 2, 4, 8, 16, 32, 64, 128] };

    internal static readonly Histogram<double> ImageWaitSeconds = Meter.CreateHistogram("fer.image.queue_wait", "s", "Time an image waits for its turn to be decoded and detected", advice: StageSeconds);

    internal static readonly Histogram<double> DecodeSeconds = Meter.CreateHistogram("fer.decode.duration", "s", "Image decode time", advice: StageSeconds);

    internal static readonly Histogram<double> DetectSeconds = Meter.CreateHistogram("fer.detect.duration", "s", "Face detection and alignment time per image", advice: StageSeconds);

    internal static readonly Histogram<double> ClassifySeconds = Meter.CreateHistogram("fer.classify.duration", "s", "Time from queueing an image's crops to their probabilities", advice: StageSeconds);

    /// <summary>Detector runs per image (whole view plus the proposal crops or tiles; name public for benchmarks).</summary>
    public const string DetectorViewsInstrument = "fer.detector.views_per_image";

    internal static readonly Histogram<int> DetectorViews = Meter.CreateHistogram(DetectorViewsInstrument, null, "Detector runs per image: the whole view plus proposal crops or tiles", advice: Counts);

    internal static readonly Histogram<int> FacesPerImage = Meter.CreateHistogram("fer.faces_per_image", null, "Faces classified per image", advice: Counts);

    /// <summary>Crops per classifier run (name kept public so benchmarks can listen for it).</summary>
    public const string BatchSizeInstrument = "fer.classifier.batch_size";

    internal static readonly Histogram<int> BatchSizes = Meter.CreateHistogram(BatchSizeInstrument, null, "Crops per classifier run", advice: Counts);

    internal static readonly Histogram<double> QueueWaitSeconds = Meter.CreateHistogram("fer.classifier.queue_wait", "s", "Time a crop waits for the classifier", advice: StageSeconds);
}
