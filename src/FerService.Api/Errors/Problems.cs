using FerService.Inference.Imaging;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace FerService.Api.Errors;

/// <summary>The problem+json objects the API returns; titles are stable, details say what to fix.</summary>
public static class Problems
{
    public static ProblemDetails Create(int status, string title, string detail) => new()
    {
        Status = status,
        Title = title,
        Detail = detail,
        Type = $"https://httpstatuses.io/{status}",
    };

    public static ProblemHttpResult Result(ProblemDetails problem) => TypedResults.Problem(problem);

    public static ProblemDetails BadRequest(string detail) => Create(StatusCodes.Status400BadRequest, "Bad request", detail);

    public static ProblemDetails UnsupportedMediaType(string detail) => Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", detail);

    public static ProblemDetails TooLarge(string detail) => Create(StatusCodes.Status413PayloadTooLarge, "Payload too large", detail);

    public static ProblemDetails Overloaded(string detail) => Create(StatusCodes.Status503ServiceUnavailable, "Service overloaded", detail);

    public static ProblemDetails FromImageError(ImageDecodeException error) => error.Kind switch
    {
        ImageErrorKind.UnsupportedFormat => UnsupportedMediaType(error.Message),
        ImageErrorKind.TooLarge => TooLarge(error.Message),
        _ => Create(StatusCodes.Status422UnprocessableEntity, "Unprocessable image", error.Message),
    };
}
