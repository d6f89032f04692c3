using FerService.Api.Hosting;

namespace FerService.Api.Video;

public static class VideoEndpoints
{
    public const string NdjsonType = "application/x-ndjson";

    public static RouteGroupBuilder MapVideoEndpoints(this RouteGroupBuilder api)
    {
        // The concurrency limit applies; the image deadline does not (a video has its own, Fer:Video:Timeout).
        api.MapGroup("").RequireRateLimiting(BackpressureExtensions.Policy)
            .MapPost("/emotions/video", VideoHandlers.AnalyzeVideoAsync)
            .WithName("AnalyzeVideo")
            .WithSummary("One video file in (multipart part 'video'), an emotion timeline per face track out")
            .WithDescription("Frames are sampled at 'fps' (default 2, at most 10), decoded by ffmpeg in a separate process, and go through "
                + "the image pipeline and the stream's tracker. With 'Accept: application/x-ndjson' the answer streams one line per "
                + "analysed frame, then a 'result' line with the whole timeline.")
            .Produces<VideoResponse>(StatusCodes.Status200OK)
            .Produces<VideoLine>(StatusCodes.Status200OK, NdjsonType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status502BadGateway)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status504GatewayTimeout)
            .DisableAntiforgery();
        return api;
    }
}
