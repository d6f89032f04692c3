using FerService.Api.Analysis;
using FerService.Api.Emotions;
using FerService.Api.Health;
using FerService.Api.Hosting;
using FerService.Api.Streaming;
using FerService.Api.Uploads;
using FerService.Api.Video;

if (HealthProbe.IsRequested(args, out var probeUrl))
{
    return await HealthProbe.RunAsync(probeUrl);
}

var builder = WebApplication.CreateBuilder(args);

builder.AddFerApi();
builder.AddFerProxy();
builder.AddFerCors();
builder.AddFerResponseHeaders();
builder.AddFerAnalysis();
builder.AddFerEmotions();
builder.AddFerHealth();
builder.AddFerTelemetry();
builder.AddFerBackpressure();
builder.AddFerUploads();
builder.AddFerAccess();
builder.AddFerStream();
builder.AddFerVideo();

var app = builder.Build();

return await app.RunFerAsync(static app =>
{
    app.UseFerProxy();
    app.UseFerResponseHeaders();
    app.UseFerRequestId();
    app.UseFerApi();
    app.UseFerCors();
    app.UseFerAccess();
    app.UseFerUploads();
    app.UseFerBackpressure();
    app.UseFerStream();
    app.MapFerApi()
        .MapEmotionEndpoints()
        .MapStreamEndpoints()
        .MapVideoEndpoints();
    app.MapHealthEndpoints();
    app.MapFerMetrics();
});

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
