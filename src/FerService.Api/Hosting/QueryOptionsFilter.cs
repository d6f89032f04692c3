using System.Globalization;
using System.Text.Json.Nodes;
using FerService.Api.Analysis;
using FerService.Api.Emotions;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace FerService.Api.Hosting;

/// <summary>
/// Types the analysis query options in the OpenAPI document. They bind as text so that a bad value gets the endpoint's
/// own clear 400 instead of the framework's; the document still gives each its type, range and default (from the same
/// options the endpoint checks against), and its description from the XML comments.
/// </summary>
internal sealed class QueryOptionsFilter(IOptions<DetectionOptions> detection, IOptions<LimitsOptions> limits) : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        if (operation.Parameters is null)
        {
            return;
        }
        foreach (var parameter in operation.Parameters.OfType<OpenApiParameter>())
        {
            if (parameter.In != ParameterLocation.Query)
            {
                continue;
            }
            parameter.Schema = parameter.Name switch
            {
                "detect" => new OpenApiSchema { Type = JsonSchemaType.Boolean, Default = JsonValue.Create(true) },
                "maxFaces" => Number(JsonSchemaType.Integer, 1, limits.Value.MaxFacesPerImage, limits.Value.MaxFacesPerImage),
                "minFaceSize" => Number(JsonSchemaType.Number, 0, DecodeLimits.Default.MaxSide, detection.Value.MinFaceSize),
                "minScore" => Number(JsonSchemaType.Number, Math.Round(EmotionQuery.LowestMinScore, 4), Math.Round(EmotionQuery.HighestMinScore, 4),
                    Math.Round(detection.Value.MinScore, 4)),
                _ => parameter.Schema,
            };
        }
    }

    private static OpenApiSchema Number(JsonSchemaType type, double minimum, double maximum, double defaultValue) => new()
    {
        Type = type,
        Format = type == JsonSchemaType.Integer ? "int32" : null,
        Minimum = minimum.ToString(CultureInfo.InvariantCulture),
        Maximum = maximum.ToString(CultureInfo.InvariantCulture),
        Default = JsonValue.Create(defaultValue),
    };
}
