using System.Diagnostics;
using System.Text.Json;
using FerService.Api.Contracts;
using FerService.Api.Errors;
using FerService.Api.Hosting;
using FerService.Api.Inference;
using FerService.Inference.Batching;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SkiaSharp;
using FerService.Inference.Annotation;

namespace FerService.Api.Endpoints;

public static class EmotionEndpoints
{
    public static IEndpointRouteBuilder MapEmotionEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Emotions").WithBackpressure().WithAccessControl();

        api.MapPost("/emotions", AnalyzeAsync)
            .WithName(Hosting.UploadBodyFilter.OperationName)
            .WithSummary("Find faces in one or more images and classify their expressions")
            .WithDescription("Send multipart/form-data with one or more file parts named 'images' (or 'image'), or application/json "
                + "{\"images\":[{\"name\":\"a.jpg\",\"data\":\"<base64 or data: URI>\"}]}. With several images, an image that fails carries "
                + "an 'error' problem object and the others still succeed; a request whose only image fails gets that image's status.")
            .AsImageUpload();

        api.MapPost("/emotions/annotate", AnnotateAsync)
            .WithName(Hosting.UploadBodyFilter.AnnotateOperationName)
            .WithSummary("One image in, the same image out with each face boxed, numbered and labelled (PNG, or JPEG with format=jpeg)")
            .WithDescription("Takes the same body and options as POST /api/emotions, with exactly one image. Coordinates follow the EXIF orientation, so the picture comes back upright.")
            .Produces<byte[]>(StatusCodes.Status200OK, "image/png", "image/jpeg")
            .AsImageUpload();

        api.MapGet("/model", GetModel)
            .WithTags("Model")
            .WithName("GetModel")
            .WithSummary("The classifier's model card: input, labels, temperature, training recipe, metrics, intended use and limitations");

        return app;
    }

    /// <summary>The problems every image upload can answer with; uploads carry no antiforgery token.</summary>
    private static RouteHandlerBuilder AsImageUpload(this RouteHandlerBuilder endpoint) => endpoint
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
        .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
        .ProducesProblem(StatusCodes.Status504GatewayTimeout)
        .DisableAntiforgery();

    internal static Ok<ModelManifest> GetModel(IEmotionClassifier classifier) => TypedResults.Ok(classifier.Manifest);

    internal static async Task<Results<Ok<EmotionResponse>, ProblemHttpResult>> AnalyzeAsync(
        HttpContext context,
        [AsParameters] EmotionQuery query,
        EmotionPipeline pipeline,
        IEmotionClassifier classifier,
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

        var (uploads, uploadError) = await UploadReader.ReadAsync(context.Request, limits, cancellationToken);
        if (uploadError is not null)
        {
            return Problems.Result(uploadError);
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
        var labels = classifier.Manifest.Labels;
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
                results[i] = new ImageResult(i, upload.Name, analysis.Width, analysis.Height, ToDtos(analysis.Faces, labels), null);
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

        foreach (var result in results)
        {
            metrics.ImageProcessed(result.Error?.Status);
        }
        if (results.Length == 1 && results[0].Error is { } only)
        {
            return Problems.Result(only);
        }
        var model = classifier.Manifest;
        return TypedResults.Ok(new EmotionResponse(
            new ModelSummary(model.Name, model.Version, labels),
            results,
            new ResponseTimings(Round(decodeMs), Round(detectMs), Round(classifyMs), Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds))));
    }

    internal static async Task<Results<FileContentHttpResult, ProblemHttpResult>> AnnotateAsync(
        HttpContext context,
        [AsParameters] EmotionQuery query,
        [FromQuery(Name = "format")] string? format,
        EmotionPipeline pipeline,
        IEmotionClassifier classifier,
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
        var (uploads, uploadError) = await UploadReader.ReadAsync(context.Request, limits, cancellationToken);
        if (uploadError is not null)
        {
            return Problems.Result(uploadError);
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
            var (analysis, image) = await pipeline.AnalyzeWithImageAsync(uploads[0].Data, request, cancellationToken);
            using (image)
            {
                var bytes = annotator.Draw(image, analysis.Faces, classifier.Manifest.Labels, target.Encoding);
                return TypedResults.File(bytes, target.ContentType);
            }
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

    private static ProblemHttpResult QueueFull(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return Problems.Result(Problems.Overloaded("The classifier queue is full; retry after a second."));
    }

    internal static FaceDto[] ToDtos(IReadOnlyList<FaceResult> faces, IReadOnlyList<string> labels)
    {
        var dtos = new FaceDto[faces.Count];
        for (var f = 0; f < faces.Count; f++)
        {
            var face = faces[f];
            var emotions = new Dictionary<string, float>(labels.Count);
            for (var c = 0; c < labels.Count; c++)
            {
                emotions[labels[c]] = MathF.Round(face.Probabilities[c], 4);
            }
            dtos[f] = new FaceDto(
                new BoxDto(Round(face.Box.X), Round(face.Box.Y), Round(face.Box.Width), Round(face.Box.Height)),
                MathF.Round(face.Score, 4),
                face.Landmarks is { } l ? new LandmarksDto(Point(l.RightEye), Point(l.LeftEye), Point(l.Nose), Point(l.Mouth), Point(l.RightEar), Point(l.LeftEar)) : null,
                emotions,
                labels[ClassificationMetrics.ArgMax(face.Probabilities)]);
        }
        return dtos;
    }

    private static PointDto Point(PointF p) => new(Round(p.X), Round(p.Y));

    private static float Round(float value) => MathF.Round(value, 1);

    private static double Round(double value) => Math.Round(value, 2);
}

/// <summary>One uploaded image: its bytes, or why it was rejected before decoding.</summary>
internal sealed record Upload(string? Name, ReadOnlyMemory<byte> Data, ProblemDetails? Error);

/// <summary>Reads images from multipart/form-data or JSON with base64, enforcing the request-level limits.</summary>
internal static class UploadReader
{
    private static readonly string[] FileFields = ["images", "image"];
    private const int MaxBoundaryLength = 128; // RFC 2046 allows 70; the form reader's limit
    private const int UnknownLengthFirstBuffer = 64 * 1024;

    public static async Task<(List<Upload> Uploads, ProblemDetails? Error)> ReadAsync(HttpRequest request, LimitsOptions limits, CancellationToken cancellationToken)
    {
        try
        {
            if (request.HasFormContentType)
            {
                return await ReadMultipartAsync(request, limits, cancellationToken);
            }
            if (request.HasJsonContentType())
            {
                return await ReadJsonAsync(request, limits, cancellationToken);
            }
            return ([], Problems.UnsupportedMediaType("Send multipart/form-data with file parts named 'images', or application/json with base64 images."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ([], Problems.TooLarge($"The request body is larger than {limits.MaxRequestBytes:N0} bytes."));
        }
        catch (InvalidDataException e) when (e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase))
        {
            return ([], Problems.TooLarge($"The request exceeds a form limit: {e.Message}"));
        }
        catch (InvalidDataException e)
        {
            return ([], Problems.BadRequest($"The multipart body is malformed: {e.Message}"));
        }
        catch (JsonException e)
        {
            return ([], Problems.BadRequest($"The JSON body is malformed: {e.Message}"));
        }
        catch (IOException e) when (e is not BadHttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            // The multipart reader's "Unexpected end of Stream" (its message blames another component; here it never is).
            return ([], Problems.BadRequest("The multipart body ended before its closing boundary."));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The deadline fell while the body was still arriving. The timeout middleware lets a cancelled body read through
            // (it was logged as a 500 with a stack trace); Kestrel closes the half-read connection either way, but the
            // service records a client timeout, not a failure of its own.
            return ([], Problems.Create(StatusCodes.Status408RequestTimeout, "Request timeout",
                $"The request body did not arrive within {limits.RequestTimeout.TotalSeconds:0.###} s."));
        }
    }

    /// <summary>
    /// Streams the parts straight into one array per image. The form reader would buffer every file over 64 KB to a temp
    /// file first (disk writes of user images, and a 500 where the temp directory is not writable) and then be copied again.
    /// </summary>
    private static async Task<(List<Upload>, ProblemDetails?)> ReadMultipartAsync(HttpRequest request, LimitsOptions limits, CancellationToken cancellationToken)
    {
        var boundary = MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            ? HeaderUtilities.RemoveQuotes(contentType.Boundary).Value : null;
        if (string.IsNullOrWhiteSpace(boundary) || boundary.Length > MaxBoundaryLength)
        {
            return ([], Problems.BadRequest($"multipart/form-data needs a boundary parameter of 1–{MaxBoundaryLength} characters."));
        }
        var reader = new MultipartReader(boundary, request.Body) { BodyLengthLimit = limits.MaxRequestBytes };
        var uploads = new List<Upload>();
        var images = 0;
        long bodyLeft = request.ContentLength ?? UnknownLengthFirstBuffer;
        while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
        {
            var isImage = ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                && disposition.IsFileDisposition() && Array.IndexOf(FileFields, disposition.Name.Value) >= 0;
            if (!isImage || ++images > limits.MaxImagesPerRequest)
            {
                // Other fields are not ours, and images over the limit are only counted for the error.
                await section.Body.CopyToAsync(Stream.Null, cancellationToken);
                continue;
            }
            var fileName = HeaderUtilities.RemoveQuotes(
                disposition!.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
            var name = string.IsNullOrEmpty(fileName) ? null : Path.GetFileName(fileName);
            // What is left of the body bounds this part, so one array of that size holds it without regrowing. The array
            // outlives the stream (disposing a MemoryStream does not touch it).
            using var buffer = new MemoryStream((int)Math.Clamp(bodyLeft, 1, Math.Min(limits.MaxRequestBytes, Array.MaxLength)));
            await section.Body.CopyToAsync(buffer, cancellationToken);
            bodyLeft = Math.Max(UnknownLengthFirstBuffer, bodyLeft - buffer.Length);
            uploads.Add(buffer.Length == 0
                ? new Upload(name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("The file part is empty."))
                : new Upload(name, new ReadOnlyMemory<byte>(buffer.GetBuffer(), 0, (int)buffer.Length), null));
        }
        if (images == 0)
        {
            return ([], Problems.BadRequest("No image: add one or more file parts named 'images' (or 'image')."));
        }
        if (images > limits.MaxImagesPerRequest)
        {
            return ([], Problems.BadRequest($"{images} images sent; at most {limits.MaxImagesPerRequest} per request."));
        }
        return (uploads, null);
    }

    private static async Task<(List<Upload>, ProblemDetails?)> ReadJsonAsync(HttpRequest request, LimitsOptions limits, CancellationToken cancellationToken)
    {
        var body = await request.ReadFromJsonAsync<EmotionJsonRequest>(cancellationToken);
        if (body?.Images is not { Count: > 0 } images)
        {
            return ([], Problems.BadRequest("No image: send {\"images\":[{\"name\":\"a.jpg\",\"data\":\"<base64>\"}]}."));
        }
        if (images.Count > limits.MaxImagesPerRequest)
        {
            return ([], Problems.BadRequest($"{images.Count} images sent; at most {limits.MaxImagesPerRequest} per request."));
        }
        var uploads = new List<Upload>(images.Count);
        foreach (var image in images)
        {
            uploads.Add(DecodeBase64(image));
        }
        return (uploads, null);
    }

    internal static Upload DecodeBase64(JsonImage? image)
    {
        var text = (image?.Data ?? string.Empty).AsSpan().Trim();
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var marker = text.IndexOf(";base64,", StringComparison.OrdinalIgnoreCase);
            if (marker < 0)
            {
                return new Upload(image?.Name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("A data: URI must be base64-encoded (data:<type>;base64,<data>)."));
            }
            text = text[(marker + ";base64,".Length)..];
        }
        if (text.IsEmpty)
        {
            return new Upload(image?.Name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("The image has no 'data'."));
        }
        var buffer = new byte[text.Length / 4 * 3 + 3];
        if (!Convert.TryFromBase64Chars(text, buffer, out var written))
        {
            return new Upload(image?.Name, ReadOnlyMemory<byte>.Empty, Problems.BadRequest("'data' is not valid base64."));
        }
        return new Upload(image?.Name, buffer.AsMemory(0, written), null);
    }
}
