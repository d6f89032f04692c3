using FerService.Serving;
using FerService.Api.Hosting;
using FerService.Api.Uploads;

namespace FerService.Api.Emotions;

public static class EmotionEndpoints
{
    /// <summary>What the emotions endpoints need beyond the pipeline: the annotated image's drawer.</summary>
    public static IHostApplicationBuilder AddFerEmotions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(_ => new FaceAnnotator());
        return builder;
    }

    public static RouteGroupBuilder MapEmotionEndpoints(this RouteGroupBuilder group)
    {
        var api = group.MapGroup("").WithBackpressure();

        api.MapPost("/emotions", EmotionHandlers.AnalyzeAsync)
            .WithName(Hosting.UploadBodyFilter.OperationName)
            .WithSummary("Find faces in one or more images and classify their expressions")
            .WithDescription("Send multipart/form-data with one or more file parts named 'images' (or 'image'), or application/json "
                + "{\"images\":[{\"name\":\"a.jpg\",\"data\":\"<base64 or data: URI>\"}]}. With several images, an image that fails carries "
                + "an 'error' problem object and the others still succeed; a request whose only image fails gets that image's status.")
            .AsImageUpload();

        api.MapPost("/emotions/annotate", EmotionHandlers.AnnotateAsync)
            .WithName(Hosting.UploadBodyFilter.AnnotateOperationName)
            .WithSummary("One image in, the same image out with each face boxed, numbered and labelled (PNG, or JPEG with format=jpeg)")
            .WithDescription("Takes the same body and options as POST /api/emotions, with exactly one image. Coordinates follow the EXIF orientation, so the picture comes back upright.")
            .Produces<byte[]>(StatusCodes.Status200OK, "image/png", "image/jpeg")
            .AsImageUpload();

        api.MapGet("/model", EmotionHandlers.GetModel)
            .WithTags("Model")
            .WithName("GetModel")
            .WithSummary("The classifier's model card: input, labels, temperature, training recipe, metrics, intended use and limitations");

        return group;
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
        .DisableAntiforgery()
        .ReadsUploadsFirst();
}
