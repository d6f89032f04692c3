using System.Diagnostics.Metrics;

namespace FerService.Serving;

/// <summary>
/// The serving layer's instruments, on one meter the host's <see cref="IMeterFactory"/> creates and the host exports (e.g. as
/// Prometheus /metrics). An instance, not statics: a library user who never serves registers nothing.
/// </summary>
internal sealed class ServingMetrics
{
    public const string MeterName = "FerService.Serving";
    public const string DetectorRunsInstrument = "fer.detector.views_per_image";
    public const string BatchSizeInstrument = "fer.classifier.batch_size";

    // Bucket advice: exporters' defaults (0, 5, 10, 25, … with no unit) would put every stage time in the first bucket.
    private static readonly InstrumentAdvice<double> StageSeconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
    };

    private static readonly InstrumentAdvice<int> Counts = new() { HistogramBucketBoundaries = [0, 1, 2, 4, 8, 16, 32, 64, 128] };

    private readonly Meter _meter;

    public ServingMetrics(IMeterFactory meters)
    {
        _meter = meters.Create(MeterName);
        ImageWaitSeconds = _meter.CreateHistogram("fer.image.queue_wait", "s", "Time an image waits for its turn to be decoded and detected", advice: StageSeconds);
        DecodeSeconds = _meter.CreateHistogram("fer.decode.duration", "s", "Image decode time", advice: StageSeconds);
        DetectSeconds = _meter.CreateHistogram("fer.detect.duration", "s", "Face detection and alignment time per image", advice: StageSeconds);
        ClassifySeconds = _meter.CreateHistogram("fer.classify.duration", "s", "Time from queueing an image's crops to their probabilities", advice: StageSeconds);
        DetectorRuns = _meter.CreateHistogram(DetectorRunsInstrument, null, "Detector runs per image: the whole view plus proposal crops or tiles", advice: Counts);
        FacesPerImage = _meter.CreateHistogram("fer.faces_per_image", null, "Faces classified per image", advice: Counts);
        BatchSizes = _meter.CreateHistogram(BatchSizeInstrument, null, "Crops per classifier run", advice: Counts);
        QueueWaitSeconds = _meter.CreateHistogram("fer.classifier.queue_wait", "s", "Time a crop waits for the classifier", advice: StageSeconds);
    }

    public Histogram<double> ImageWaitSeconds { get; }
    public Histogram<double> DecodeSeconds { get; }
    public Histogram<double> DetectSeconds { get; }
    public Histogram<double> ClassifySeconds { get; }
    public Histogram<int> DetectorRuns { get; }
    public Histogram<int> FacesPerImage { get; }
    public Histogram<int> BatchSizes { get; }
    public Histogram<double> QueueWaitSeconds { get; }

    public void ObserveQueueLength(Func<int> queueLength) =>
        _meter.CreateObservableGauge("fer.classifier.queue_length", queueLength, description: "Crops waiting for the classifier");
}
