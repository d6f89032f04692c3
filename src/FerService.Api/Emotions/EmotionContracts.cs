using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace FerService.Api.Emotions;

/// <summary>Result of <c>POST /api/emotions</c>: one entry per uploaded image, in upload order.</summary>
public sealed record EmotionResponse(ModelSummary Model, IReadOnlyList<ImageResult> Images, ResponseTimings Timings);

public sealed record ModelSummary(string Name, string Version, IReadOnlyList<string> Labels);

/// <summary>An image's faces, or its <see cref="Error"/> (a problem object) when it could not be processed.</summary>
public sealed record ImageResult(
    int Index,
    string? Name,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Width,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Height,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FaceDto>? Faces,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProblemDetails? Error);

public sealed record FaceDto(
    BoxDto Box,
    float Score,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] LandmarksDto? Landmarks,
    IReadOnlyDictionary<string, float> Emotions,
    string DominantEmotion,
    bool Uncertain);

/// <summary>Pixels of the image as displayed (after EXIF orientation); x, y is the top-left corner.</summary>
public sealed record BoxDto(float X, float Y, float Width, float Height);

public sealed record PointDto(float X, float Y);

/// <summary>"Right" and "left" are the subject's: the right eye appears on the image's left.</summary>
public sealed record LandmarksDto(PointDto RightEye, PointDto LeftEye, PointDto Nose, PointDto Mouth, PointDto RightMouth, PointDto LeftMouth);

public sealed record ResponseTimings(double DecodeMs, double DetectMs, double ClassifyMs, double TotalMs);

/// <summary>JSON upload: <c>{"images":[{"name":"a.jpg","data":"&lt;base64 or data: URI&gt;"}]}</c>.</summary>
public sealed record EmotionJsonRequest(IReadOnlyList<JsonImage>? Images);

public sealed record JsonImage(string? Name, string? Data);
