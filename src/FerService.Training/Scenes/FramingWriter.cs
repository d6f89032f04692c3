using System.Globalization;
using FerService.Evaluation;
using FerService.Inference.Detection;
using FerService.Serving;
using Microsoft.Extensions.DependencyInjection;

namespace FerService.Training.Scenes;

/// <summary><c>framing</c>: each face of a split through the service's detector alone, for <c>train --framing</c>.</summary>
internal sealed class FramingWriter(TextWriter output)
{
    /// <summary>
    /// <c>framing</c>: where the service's detector puts each face of a split, found alone (the face upscaled on a plain
    /// canvas, as for <see cref="SceneMetrics.DetectableAlone"/>), written as <see cref="FaceFraming"/> lines for
    /// <c>train --framing</c>, so training can show the classifier the crops the pipeline will cut.
    /// </summary>
    public void Write(string dataPath, string usage, string outPath, IReadOnlyDictionary<string, string> settings, string? root = null,
        int maxRows = int.MaxValue)
    {
        var split = SceneEvaluator.ReadSplit(dataPath, usage, maxRows);
        var services = ServicePipeline.Build(settings, Path.GetFullPath(root ?? "."));
        try
        {
            var pipeline = services.GetRequiredService<EmotionPipeline>();
            var detectAll = ServicePipeline.DetectAll(services);
            var face = new BoxF(0, 0, Fer2013Split.Side, Fer2013Split.Side);
            var framings = new List<FaceFraming>(split.Count);
            // A chunk at a time: each alone image is a few hundred kilobytes of PNG.
            const int Chunk = 512;
            for (var start = 0; start < split.Count; start += Chunk)
            {
                var count = Math.Min(Chunk, split.Count - start);
                var images = new List<ReadOnlyMemory<byte>>(count);
                for (var row = start; row < start + count; row++)
                {
                    images.Add(FaceAlone.Encode(split.Image(row)));
                }
                var analyses = ServicePipeline.AnalyzeAll(pipeline, images, detectAll);
                for (var i = 0; i < count; i++)
                {
                    if (FaceAlone.MapBox(analyses[i], face) is { } box)
                    {
                        framings.Add(FaceFraming.FromBox(start + i, box, Fer2013Split.Side));
                    }
                }
            }
            FaceFraming.Write(outPath, framings);
            var scales = framings.Select(f => f.Scale).Order().ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{usage}: {framings.Count} of {split.Count} faces framed ({(double)framings.Count / Math.Max(1, split.Count):P2}); crop side over face side p5 {Quantiles.Percentile(scales, 0.05):F3}, median {Quantiles.Percentile(scales, 0.5):F3}, p95 {Quantiles.Percentile(scales, 0.95):F3}; wrote {outPath}"));
        }
        finally
        {
            services.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
