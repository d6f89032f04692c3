using System.Globalization;
using FerService.Api.Analysis;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using Microsoft.AspNetCore.Mvc;

namespace FerService.Api.Emotions;

/// <summary>Query options of <c>POST /api/emotions</c>, bound as text so a bad value gets a clear 400.</summary>
public sealed class EmotionQuery
{
    /// <summary>The range a request's <see cref="MinScore"/> must lie in; the OpenAPI document states it from here too.</summary>
    internal const float LowestMinScore = 0.01f, HighestMinScore = 0.99f;

    /// <summary>Find faces (default true); false classifies each whole image as one face.</summary>
    [FromQuery(Name = "detect")] public string? Detect { get; init; }

    /// <summary>Most faces returned per image, largest score first.</summary>
    [FromQuery(Name = "maxFaces")] public string? MaxFaces { get; init; }

    /// <summary>Smallest face side in pixels to report (default: <c>Fer:Detection:MinFaceSize</c>).</summary>
    [FromQuery(Name = "minFaceSize")] public string? MinFaceSize { get; init; }

    /// <summary>Detector confidence threshold, 0.01–0.99.</summary>
    [FromQuery(Name = "minScore")] public string? MinScore { get; init; }

    /// <summary>Parses and range-checks the options; returns an error message instead of throwing.</summary>
    public AnalysisRequest? TryParse(DetectionOptions detection, LimitsOptions limits, out string? error)
    {
        error = null;
        var detect = true;
        if (Detect is not null && !bool.TryParse(Detect, out detect))
        {
            error = $"'detect' must be true or false, not '{Detect}'.";
            return null;
        }
        var maxFaces = limits.MaxFacesPerImage;
        if (MaxFaces is not null && (!int.TryParse(MaxFaces, NumberStyles.Integer, CultureInfo.InvariantCulture, out maxFaces) || maxFaces < 1 || maxFaces > limits.MaxFacesPerImage))
        {
            error = $"'maxFaces' must be an integer from 1 to {limits.MaxFacesPerImage}.";
            return null;
        }
        var minFaceSize = detection.MinFaceSize;
        if (MinFaceSize is not null && (!float.TryParse(MinFaceSize, NumberStyles.Float, CultureInfo.InvariantCulture, out minFaceSize) || !(minFaceSize >= 0) || minFaceSize > DecodeLimits.Default.MaxSide))
        {
            error = $"'minFaceSize' must be a number of pixels from 0 to {DecodeLimits.Default.MaxSide}.";
            return null;
        }
        var minScore = detection.MinScore;
        if (MinScore is not null && (!float.TryParse(MinScore, NumberStyles.Float, CultureInfo.InvariantCulture, out minScore) || !(minScore >= LowestMinScore && minScore <= HighestMinScore)))
        {
            error = string.Create(CultureInfo.InvariantCulture, $"'minScore' must be a number from {LowestMinScore} to {HighestMinScore}.");
            return null;
        }
        return new AnalysisRequest(detect, new DetectionRequest(minScore, maxFaces, minFaceSize));
    }
}
