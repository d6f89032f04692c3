using System.Diagnostics.Metrics;
using FerService.Api.Uploads;
using FerService.Serving;

namespace FerService.Api.Hosting;

/// <summary>The service's own instruments: image outcomes, the execution provider in use and the upload bytes buffered.</summary>
public sealed class ApiMetrics
{
    public const string MeterName = "FerService.Api";

    private readonly Counter<long> _images;

    public ApiMetrics(IMeterFactory meters, EmotionPipeline pipeline, UploadBudget uploads)
    {
        var meter = meters.Create(MeterName);
        _images = meter.CreateCounter<long>("fer.images", description: "Images processed, by outcome (ok or the problem status)");
        meter.CreateObservableGauge("fer.execution_provider", () => new Measurement<int>(1, new KeyValuePair<string, object?>("provider", pipeline.ExecutionProvider)),
            description: "1 for the ONNX Runtime execution provider in use");
        meter.CreateObservableGauge("fer.uploads.buffered", () => uploads.Used, unit: "By",
            description: "Upload bytes buffered now across all requests (at most Fer:Limits:MaxBufferedUploadBytes)");
    }

    public void ImageProcessed(int? problemStatus) =>
        _images.Add(1, new KeyValuePair<string, object?>("outcome", problemStatus is { } status ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "ok"));
}
