using System.Diagnostics;
using FerService.Api.Errors;
using FerService.Api.Hosting;
using FerService.Api.Analysis;
using FerService.Api.Uploads;
using System.Text.Json;
using FerService.Inference;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Serving;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace FerService.Api.Emotions;

/// <summary>Image uploads: analyse every image of a request in the pipeline, or annotate one; the model card.</summary>
internal static class EmotionHandlers
{
    internal static Ok<JsonElement> GetModel(ModelCard model) => TypedResults.Ok(model.Document);

    internal static async Task<Results<Ok<EmotionResponse>, ProblemHttpResult>> AnalyzeAsync(
        HttpContext context,
        [AsParameters] EmotionQuery query,
        BufferedUploads uploads,
        EmotionPipeline pipeline,
        IOptions<LimitsOptions> limitsOptions,
        IOptions<DetectionOptions> detectionOptions,
        ApiMetrics metrics,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var limits = limitsOptions.Value;
        if (query.TryParse(detectionOptions.Value, limits, out var optionError) is not { } request)
        {
            return Problems.Result(Problems.BadRequest(optionError!));
        }

        var pending = new Task<ImageAnalysis>?[uploads.Count];
        for (var i = 0; i < uploads.Count; i++)
        {
            if (uploads[i].Error is null)
            {
                pending[i] = pipeline.AnalyzeAsync(uploads[i].Data, request, cancellationToken);
            }
        }

        var results = new ImageResult[uploads.Count];
        double decodeMs = 0, detectMs = 0, classifyMs = 0;
        var model = pipeline.Model;
        var labels = model.Labels;
        try
        {
            for (var i = 0; i < uploads.Count; i++)
            {
                var upload = uploads[i];
                if (pending[i] is not { } task)
                {
                    results[i] = new ImageResult(i, upload.Name, null, null, null, upload.Error);
                    continue;
                }
                try
                {
                    var analysis = await task;
                    decodeMs += analysis.Timings.DecodeMs;
                    detectMs += analysis.Timings.DetectMs;
                    classifyMs = Math.Max(classifyMs, analysis.Timings.ClassifyMs);
                    results[i] = new ImageResult(i, upload.Name, analysis.Width, analysis.Height, ContractMapping.ToDtos(analysis.Faces, model), null);
                }
                catch (ImageDecodeException e)
                {
                    results[i] = new ImageResult(i, upload.Name, null, null, null, Problems.FromImageError(e));
                }
                catch (QueueFullException)
                {
                    return QueueFull(context);
                }
            }
        }
        finally
        {
            // The images lie in pooled buffers that go back when the request ends: no analysis may still be reading one.
            await SettleAsync(pending);
        }

        foreach (var result in results)
        {
            metrics.ImageProcessed(result.Error?.Status);
        }
        if (results.Length == 1 && results[0].Error is { } only)
        {
            return Problems.Result(only);
        }
        return TypedResults.Ok(new EmotionResponse(
            new ModelSummary(model.Name, model.Version, labels),
            results,
            ContractMapping.Timings(decodeMs, detectMs, classifyMs, Stopwatch.GetElapsedTime(started).TotalMilliseconds)));
    }

    internal static async Task<Results<FileContentHttpResult, ProblemHttpResult>> AnnotateAsync(
        HttpContext context,
        [AsParameters] EmotionQuery query,
        [FromQuery(Name = "format")] string? format,
        BufferedUploads uploads,
        EmotionPipeline pipeline,
        FaceAnnotator annotator,
        IOptions<LimitsOptions> limitsOptions,
        IOptions<DetectionOptions> detectionOptions,
        CancellationToken cancellationToken)
    {
        var limits = limitsOptions.Value;
        if (query.TryParse(detectionOptions.Value, limits, out var optionError) is not { } request)
        {
            return Problems.Result(Problems.BadRequest(optionError!));
        }
        (SKEncodedImageFormat Encoding, string ContentType)? output = format?.ToUpperInvariant() switch
        {
            null or "PNG" => (SKEncodedImageFormat.Png, "image/png"),
            "JPEG" or "JPG" => (SKEncodedImageFormat.Jpeg, "image/jpeg"),
            _ => null,
        };
        if (output is not { } target)
        {
            return Problems.Result(Problems.BadRequest($"'format' must be png or jpeg, not '{format}'."));
        }
        if (uploads.Count != 1)
        {
            return Problems.Result(Problems.BadRequest($"Annotate takes exactly one image; {uploads.Count} were sent."));
        }
        if (uploads[0].Error is { } rejected)
        {
            return Problems.Result(rejected);
        }
        try
        {
            var (_, annotated) = await pipeline.AnnotateAsync(uploads[0].Data, request, annotator, target.Encoding, cancellationToken);
            return TypedResults.File(annotated, target.ContentType);
        }
        catch (ImageDecodeException e)
        {
            return Problems.Result(Problems.FromImageError(e));
        }
        catch (QueueFullException)
        {
            return QueueFull(context);
        }
    }

    private static async Task SettleAsync(Task<ImageAnalysis>?[] pending)
    {
        var running = new List<Task>(pending.Length);
        foreach (var task in pending)
        {
            if (task is { IsCompleted: false })
            {
                running.Add(task);
            }
        }
        if (running.Count > 0)
        {
            await Task.WhenAll(running).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private static ProblemHttpResult QueueFull(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        context.RequestServices.GetRequiredService<LoadShedding>().Refused("the classifier queue was full");
        return Problems.Result(Problems.Overloaded("The classifier queue is full; retry after a second."));
    }
}
