using FerService.Api.Hosting;

namespace FerService.Api.Streaming;

public static class StreamEndpoints
{
    /// <summary>
    /// <c>GET /api/emotions/stream</c> (WebSocket): binary JPEG/PNG frames in, one JSON result per frame out. The server
    /// reads the next frame only after answering the last, so at most one frame per connection is in flight.
    /// </summary>
    public static RouteGroupBuilder MapStreamEndpoints(this RouteGroupBuilder api)
    {
        api.MapGet("/emotions/stream", StreamHandlers.StreamAsync)
            .WithName("StreamEmotions")
            .WithSummary("WebSocket: send binary JPEG/PNG frames, get one JSON result per frame with face tracks and smoothed probabilities")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return api;
    }
}
