using FerService.Api.Emotions;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FerService.Api.Hosting;

/// <summary>
/// Documents the two bodies POST /api/emotions reads itself (multipart files or JSON base64), with examples of the JSON
/// request and of the answer. Declaring the bodies with <c>Accepts</c> would also make routing reject every content type
/// but the last one declared. The examples are built from the contract's records, so they cannot drift from its shape.
/// </summary>
internal sealed class UploadBodyFilter : IOperationFilter
{
    public const string OperationName = "AnalyzeEmotions";

    public const string AnnotateOperationName = "AnnotateEmotions";

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (operation.OperationId is not (OperationName or AnnotateOperationName))
        {
            return;
        }
        var file = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" };
        var multipart = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["images"] = new OpenApiSchema { Type = JsonSchemaType.Array, Items = file, Description = "One or more images (JPEG, PNG, WebP, BMP, GIF)." },
            },
        };
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Description = "Images as multipart file parts named 'images' (or 'image'), or JSON with base64 data (a data: URI prefix is accepted).",
            Content = new Dictionary<string, IOpenApiMediaType>
            {
                ["multipart/form-data"] = new OpenApiMediaType { Schema = multipart },
                ["application/json"] = new OpenApiMediaType
                {
                    Schema = context.SchemaGenerator.GenerateSchema(typeof(EmotionJsonRequest), context.SchemaRepository),
                    Example = JsonSerializer.SerializeToNode(RequestExample, JsonSerializerOptions.Web),
                },
            },
        };
        if (operation.OperationId == OperationName && operation.Responses?.TryGetValue("200", out var ok) == true
            && ok.Content?.TryGetValue("application/json", out var json) == true && json is OpenApiMediaType media)
        {
            media.Example = JsonSerializer.SerializeToNode(ResponseExample, JsonSerializerOptions.Web);
        }
    }

    /// <summary>A 1×1 grey PNG (no face in it; with detect=false it is classified as a whole).</summary>
    internal static readonly EmotionJsonRequest RequestExample = new(
        [new JsonImage("face.png", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==")]);

    internal static readonly EmotionResponse ResponseExample = new(
        new ModelSummary("fer2013-vgg-int8", "2026.12.07", ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]),
        [
            new ImageResult(0, "scene.jpg", 640, 480,
            [
                new FaceDto(
                    new BoxDto(466.6f, 231.6f, 173, 173),
                    0.8209f,
                    new LandmarksDto(new(505.3f, 307.2f), new(564.6f, 299), new(525.5f, 341.9f), new(535.9f, 370.9f), new(498.7f, 318.3f), new(620.6f, 303.1f)),
                    new Dictionary<string, float>
                    {
                        ["angry"] = 0.0212f, ["disgust"] = 0.0011f, ["fear"] = 0.0153f, ["happy"] = 0.9124f, ["sad"] = 0.0102f,
                        ["surprise"] = 0.0133f, ["neutral"] = 0.0265f,
                    },
                    "happy",
                    false),
            ], null),
        ],
        new ResponseTimings(3.99, 17.89, 2.03, 24.11));
}
