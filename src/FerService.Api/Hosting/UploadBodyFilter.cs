using FerService.Api.Contracts;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FerService.Api.Hosting;

/// <summary>
/// Documents the two bodies POST /api/emotions reads itself (multipart files or JSON base64). Declaring them
/// with <c>Accepts</c> would also make routing reject every content type but the last one declared.
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
                ["application/json"] = new OpenApiMediaType { Schema = context.SchemaGenerator.GenerateSchema(typeof(EmotionJsonRequest), context.SchemaRepository) },
            },
        };
    }
}
