using FerService.Api.Emotions;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FerService.Api.Analysis;
using FerService.Api.Errors;
using FerService.Api.Hosting;
using FerService.Api.Streaming;
using FerService.Api.Video;
using FerService.Inference;
using FerService.Inference.Detection;
using FerService.Serving;
using FerService.Serving.Video;
using Microsoft.AspNetCore.Http.Features;
using HttpJsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace FerService.Api.Video;

/// <summary>Video files: upload to a temporary file, probe, analyse frame by frame, answer as JSON or NDJSON.</summary>
internal static class VideoHandlers
{
    private static readonly byte[] Newline = "\n"u8.ToArray();

    /// <summary>Seconds a client is asked to wait when every decoder is busy and the queue is full (a video takes seconds).</summary>
    private const int BusyRetrySeconds = 5;

    internal static async Task<IResult> AnalyzeVideoAsync(
        HttpContext context,
        [AsParameters] EmotionQuery query,
        [FromQuery(Name = "fps")] string? fps,
        VideoAnalyzer videos,
        VideoFiles files,
        VideoDecoders decoders,
        ModelCard model,
        IOptions<VideoOptions> videoOptions,
        IOptions<StreamOptions> streamOptions,
        IOptions<DetectionOptions> detectionOptions,
        IOptions<LimitsOptions> limitsOptions,
        IOptions<HttpJsonOptions> json,
        CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var options = videoOptions.Value;
        if (query.TryParse(detectionOptions.Value, limitsOptions.Value, out var optionError) is not { } request)
        {
            return Problems.Result(Problems.BadRequest(optionError!));
        }
        if (!request.Detect)
        {
            return Problems.Result(Problems.BadRequest("A video's faces are found in each frame; detect=false is for single images."));
        }
        var rate = VideoOptions.DefaultFps;
        if (fps is not null && (!double.TryParse(fps, NumberStyles.Float, CultureInfo.InvariantCulture, out rate) || !(rate > 0) || rate > VideoOptions.MaxFps))
        {
            return Problems.Result(Problems.BadRequest($"'fps' must be a number above 0 and at most {VideoOptions.MaxFps}, not '{fps}'."));
        }
        if (!videos.IsAvailable)
        {
            return Problems.Result(Problem(VideoErrorKind.Unavailable, VideoAnalyzer.UnavailableMessage));
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = options.MaxBytes;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.Timeout);
        var streaming = context.Request.Headers.Accept.ToString().Contains(VideoEndpoints.NdjsonType, StringComparison.OrdinalIgnoreCase);
        var responseStarted = false;
        try
        {
            var (upload, uploadError) = await VideoUpload.ReceiveAsync(context.Request, files, options.MaxBytes, options.Timeout, deadline.Token);
            if (uploadError is not null)
            {
                return Problems.Result(uploadError);
            }
            await using (upload)
            {
                // The probe too runs in a decoder slot: ffprobe decodes a frame to describe the stream (137 MiB for 8192×4320).
                using var slot = await decoders.EnterAsync(deadline.Token);
                if (slot is null)
                {
                    context.RequestServices.GetRequiredService<LoadShedding>().Refused("every video decoder was busy and the queue full");
                    context.Response.Headers.RetryAfter = BusyRetrySeconds.ToString(CultureInfo.InvariantCulture);
                    return Problems.Result(Problems.Overloaded(
                        $"All video decoders are busy ({options.DecodersAtOnce} at once) and the queue is full ({options.VideosQueued} waiting); retry after {BusyRetrySeconds} s."));
                }
                var info = await videos.ProbeAsync(upload!.Path, deadline.Token);
                if (info.DurationSeconds > options.MaxDuration.TotalSeconds)
                {
                    return Problems.Result(Problems.TooLarge(
                        $"The video lasts {info.DurationSeconds:0.#} s; at most {options.MaxDuration.TotalSeconds:0.#} s are analysed."));
                }
                if ((long)info.Width * info.Height > options.MaxPixelsPerFrame)
                {
                    return Problems.Result(Problems.TooLarge(
                        $"The video's frames are {info.Width}×{info.Height} = {(long)info.Width * info.Height:N0} pixels; at most {options.MaxPixelsPerFrame:N0} are decoded."));
                }
                var timeline = new VideoTimeline(model);
                var tracker = new FaceTracker(streamOptions.Value.Smoothing);
                if (streaming)
                {
                    context.Response.ContentType = VideoEndpoints.NdjsonType;
                    responseStarted = true;
                }
                await foreach (var frame in videos.AnalyzeAsync(upload.Path, rate, options.MaxFrameSide, request, tracker, deadline.Token))
                {
                    var faces = ContractMapping.ToStreamFaces(frame.Faces, model);
                    timeline.Add(frame, faces);
                    if (streaming)
                    {
                        await WriteLineAsync(context, new VideoLine("frame", frame.Index, Math.Round(frame.Seconds, 3), info.DurationSeconds, faces), json.Value, deadline.Token);
                    }
                }
                var response = timeline.ToResponse(info, rate, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (!streaming)
                {
                    return TypedResults.Ok(response);
                }
                await WriteLineAsync(context, new VideoLine("result", Result: response), json.Value, deadline.Token);
                return Results.Empty;
            }
        }
        catch (VideoException e)
        {
            return await FailAsync(context, responseStarted, json.Value, Problem(e.Kind, e.Message));
        }
        catch (QueueFullException)
        {
            context.RequestServices.GetRequiredService<LoadShedding>().Refused("the classifier queue was full");
            if (!responseStarted)
            {
                context.Response.Headers.RetryAfter = "1";
            }
            return await FailAsync(context, responseStarted, json.Value, Problems.Overloaded("The classifier queue is full; retry after a second."));
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return await FailAsync(context, responseStarted, json.Value, Problems.Create(StatusCodes.Status504GatewayTimeout, "Timed out",
                $"The video was not analysed within {options.Timeout.TotalSeconds:0.#} s; ffmpeg was stopped."));
        }
    }

    private static ProblemDetails Problem(VideoErrorKind kind, string detail) => kind switch
    {
        VideoErrorKind.NotVideo => Problems.UnsupportedMediaType(detail),
        VideoErrorKind.Unavailable => Problems.Create(StatusCodes.Status503ServiceUnavailable, "Video unavailable", detail),
        // The decoder is a separate program the service relies on, as a gateway on its upstream: it failed, the file did not.
        VideoErrorKind.DecoderFailed => Problems.Create(StatusCodes.Status502BadGateway, "Decoder failed", detail),
        _ => Problems.Create(StatusCodes.Status422UnprocessableEntity, "Unreadable video", detail),
    };

    /// <summary>A problem as the answer, or, once lines have been streamed, as the last line.</summary>
    private static async Task<IResult> FailAsync(HttpContext context, bool responseStarted, HttpJsonOptions json, ProblemDetails problem)
    {
        if (!responseStarted)
        {
            return Problems.Result(problem);
        }
        await WriteLineAsync(context, new VideoLine("error", Error: problem), json, CancellationToken.None);
        return Results.Empty;
    }

    private static async Task WriteLineAsync(HttpContext context, VideoLine line, HttpJsonOptions json, CancellationToken cancellationToken)
    {
        await JsonSerializer.SerializeAsync(context.Response.Body, line, json.SerializerOptions, cancellationToken);
        await context.Response.Body.WriteAsync(Newline, cancellationToken);
        await context.Response.Body.FlushAsync(cancellationToken);
    }
}
