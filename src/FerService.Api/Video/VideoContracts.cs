using FerService.Api.Streaming;
using FerService.Api.Emotions;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace FerService.Api.Video;

/// <summary>Result of <c>POST /api/emotions/video</c>: the video, then one timeline per face track.</summary>
public sealed record VideoResponse(ModelSummary Model, VideoSummary Video, IReadOnlyList<VideoTrack> Tracks, double TotalMs);

/// <summary>
/// The video as ffprobe states it and how it was sampled: <c>frames</c> analysed of the <c>framesExpected</c> its stated
/// duration holds at that rate; <c>complete</c> is false when the file ended early (more than one frame short).
/// </summary>
public sealed record VideoSummary(string Container, string Codec, int Width, int Height, double DurationSeconds, double SampledFps, int Frames,
    int FramesExpected, bool Complete);

/// <summary>
/// One face followed through the video: when it was seen, each sample (smoothed probabilities, as on the stream), the share
/// of its samples each emotion was dominant in, and its mean unsmoothed probabilities.
/// </summary>
public sealed record VideoTrack(int Track, double FirstSeconds, double LastSeconds, IReadOnlyList<VideoSample> Samples,
    IReadOnlyDictionary<string, float> DominantShare, IReadOnlyDictionary<string, float> MeanEmotions);

public sealed record VideoSample(double Seconds, BoxDto Box, IReadOnlyDictionary<string, float> Emotions, string DominantEmotion, bool Uncertain);

/// <summary>
/// One line of the <c>application/x-ndjson</c> answer: <c>frame</c> lines as frames are analysed (with the video's
/// duration, for progress), then one <c>result</c> line with the whole answer, or an <c>error</c> line.
/// </summary>
public sealed record VideoLine(
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Index = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Seconds = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? DurationSeconds = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<StreamFace>? Faces = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] VideoResponse? Result = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProblemDetails? Error = null);
