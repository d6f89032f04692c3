using FerService.Api.Emotions;
using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using FerService.Api.Errors;
using FerService.Api.Hosting;
using FerService.Api.Streaming;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace FerService.Api.Streaming;

/// <summary>The stream WebSocket: frames in, tracked faces out, one frame in flight per connection.</summary>
internal static class StreamHandlers
{
    internal static async Task<IResult> StreamAsync(HttpContext context, [FromKeyedServices(StreamExtensions.PipelineKey)] EmotionPipeline pipeline,
        IOptions<StreamOptions> streamOptions, IOptions<DetectionOptions> detectionOptions, IOptions<Analysis.LimitsOptions> limits,
        StreamConnections connections, LoadShedding shedding, IHostApplicationLifetime lifetime, IOptions<CrossOriginOptions> crossOrigin)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return Problems.Result(Problems.BadRequest("Open this endpoint as a WebSocket and send binary JPEG or PNG frames."));
        }
        // Here, not WebSocketOptions.AllowedOrigins: that fixed list cannot name the page's own origin, which is whatever
        // host and (forwarded) scheme the request came to, and its refusal is a bare 403 without a problem.
        if (!crossOrigin.Value.AllowsWebSocketFrom(context.Request))
        {
            return Problems.Result(Problems.Create(StatusCodes.Status403Forbidden, "Origin not allowed",
                "Only pages on the service's own origin or on Fer:Cors:AllowedOrigins may open this stream."));
        }
        var options = streamOptions.Value;
        if (!connections.TryOpen(options.MaxConnections))
        {
            context.Response.Headers.RetryAfter = "5";
            shedding.Refused("the stream connection limit was reached");
            return Problems.Result(Problems.Overloaded($"At most {options.MaxConnections} streams at once; retry later."));
        }
        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            try
            {
                await RunAsync(socket, pipeline, options,
                    new AnalysisRequest(true, detectionOptions.Value.DefaultRequest(limits.Value.MaxFacesPerImage)),
                    lifetime.ApplicationStopping, context.RequestAborted);
            }
            catch (WebSocketException) when (socket.State is WebSocketState.Aborted or WebSocketState.Closed || context.RequestAborted.IsCancellationRequested)
            {
                // The client dropped the connection without a close handshake: its doing, not a server fault.
            }
            return Results.Empty;
        }
        finally
        {
            connections.Close();
        }
    }

    /// <summary>
    /// Frames until the client closes, sends no complete frame within the idle timeout (closed with 1008 "idle"), or the
    /// host stops (closed with 1001 "going away" at the start of shutdown, after the frame in hand is answered).
    /// </summary>
    private static async Task RunAsync(WebSocket socket, EmotionPipeline pipeline, StreamOptions options,
        AnalysisRequest request, CancellationToken stopping, CancellationToken aborted)
    {
        var tracker = new FaceTracker(options.Smoothing);
        var buffer = ArrayPool<byte>.Shared.Rent(options.MaxFrameBytes);
        Task? next = null;
        try
        {
            long frame = 0;
            while (socket.State == WebSocketState.Open)
            {
                // Not a cancelled receive (that aborts the socket): wait for the whole next frame, the idle limit or shutdown.
                var receive = ReceiveFrameAsync(socket, buffer.AsMemory(0, options.MaxFrameBytes), aborted);
                next = receive;
                (int Length, bool TooLarge, bool Closed) received;
                try
                {
                    received = await receive.WaitAsync(options.IdleTimeout, stopping);
                }
                catch (TimeoutException)
                {
                    await CloseAsync(socket, next, WebSocketCloseStatus.PolicyViolation, "idle", aborted);
                    return;
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    await CloseAsync(socket, next, WebSocketCloseStatus.EndpointUnavailable, "going away", aborted);
                    return;
                }
                var (length, tooLarge, closed) = received;
                if (closed)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }
                frame++;
                StreamFrameResult result;
                if (tooLarge)
                {
                    result = new StreamFrameResult(frame, null, null, null, $"The frame is larger than {options.MaxFrameBytes:N0} bytes.");
                }
                else
                {
                    try
                    {
                        var analysis = await pipeline.AnalyzeAsync(buffer.AsMemory(0, length), request, aborted);
                        result = new StreamFrameResult(frame, analysis.Width, analysis.Height, ContractMapping.ToStreamFaces(tracker.Update(analysis.Faces), pipeline.Model), null);
                    }
                    catch (ImageDecodeException e)
                    {
                        result = new StreamFrameResult(frame, null, null, null, e.Message);
                    }
                    catch (QueueFullException)
                    {
                        result = new StreamFrameResult(frame, null, null, null, "The classifier queue is full; this frame was skipped.");
                    }
                }
                var json = JsonSerializer.SerializeToUtf8Bytes(result, JsonSerializerOptions.Web);
                await socket.SendAsync(json, WebSocketMessageType.Text, true, aborted);
            }
        }
        finally
        {
            if (next is { IsCompleted: false })
            {
                // A client that never finished its frame nor answered the close: the buffer goes back to the pool only once
                // the receive writing into it has ended, which aborting the socket brings about.
                socket.Abort();
                _ = next.ContinueWith(_ => ArrayPool<byte>.Shared.Return(buffer), CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
            else
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Sends a close frame and gives the client a moment to answer it; the receive still pending ends either way.</summary>
    private static async Task CloseAsync(WebSocket socket, Task pending, WebSocketCloseStatus status, string description, CancellationToken aborted)
    {
        try
        {
            await socket.CloseOutputAsync(status, description, aborted);
        }
        catch (WebSocketException) when (socket.State is WebSocketState.Aborted or WebSocketState.Closed)
        {
            // The client went away first (a shutdown often finds it gone): nobody is left to tell.
            return;
        }
        await Task.WhenAny(pending, Task.Delay(TimeSpan.FromSeconds(5), aborted));
    }

    /// <summary>One whole message; an oversized one is drained and reported, not buffered.</summary>
    private static async Task<(int Length, bool TooLarge, bool Closed)> ReceiveFrameAsync(WebSocket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        var tooLarge = false;
        var scratch = Array.Empty<byte>();
        ValueWebSocketReceiveResult received;
        do
        {
            if (length == buffer.Length)
            {
                tooLarge = true;
                scratch = scratch.Length > 0 ? scratch : new byte[16 * 1024];
                received = await socket.ReceiveAsync(scratch.AsMemory(), cancellationToken);
            }
            else
            {
                received = await socket.ReceiveAsync(buffer[length..], cancellationToken);
                length += received.Count;
            }
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return (0, false, true);
            }
        }
        while (!received.EndOfMessage);
        return (length, tooLarge, false);
    }
}
