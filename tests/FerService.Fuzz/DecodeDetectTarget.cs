using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FerService.Fuzz;

/// <summary>
/// The untrusted-bytes path of the service: decode (format sniffing, header limits, EXIF) then detect.
/// A rejection is an <see cref="ImageDecodeException"/>; any other exception or a crash is a finding.
/// </summary>
internal sealed class DecodeDetectTarget : IDisposable
{
    private static readonly DecodeLimits Limits = new(4_000_000, 4096);
    private static readonly DetectionRequest Request = new(0.5f, 10, 0);
    private readonly SkiaImageDecoder _decoder = new();
    private readonly YuNetDetector _detector;

    public DecodeDetectTarget(string detectorModelPath)
    {
        var sessions = new OnnxSessionFactory(Options.Create(new OnnxOptions { IntraOpThreads = 1 }), NullLogger<OnnxSessionFactory>.Instance);
        // The service's detector with its default settings.
        _detector = new YuNetDetector(sessions, new DetectionOptions { ModelPath = detectorModelPath });
    }

    public void Run(byte[] data)
    {
        try
        {
            using var image = _decoder.Decode(data, Limits);
            _detector.Detect(image, Request);
        }
        catch (ImageDecodeException)
        {
            // The documented rejection: 413/415/422 in the service.
        }
    }

    /// <summary>Runs the seeds, every file in <paramref name="directory"/> and byte-level mutations of each once; 0 when none throws.</summary>
    public int Smoke(string directory, TextWriter output)
    {
        var inputs = new List<(string Name, byte[] Data)>(SeedCorpus.Generate());
        if (Directory.Exists(directory))
        {
            foreach (var file in Directory.GetFiles(directory))
            {
                inputs.Add((Path.GetFileName(file), File.ReadAllBytes(file)));
            }
        }
        var random = new Random(2013);
        var failures = 0;
        var runs = 0;
        foreach (var (name, data) in inputs)
        {
            foreach (var (variant, bytes) in Mutations(data, random))
            {
                runs++;
                try
                {
                    Run(bytes);
                }
                catch (Exception e)
                {
                    failures++;
                    output.WriteLine($"FAIL {name} ({variant}): {e.GetType().Name}: {e.Message}");
                }
            }
        }
        output.WriteLine($"fuzz smoke: {runs} inputs from {inputs.Count} files, {failures} unexpected exceptions");
        return failures == 0 ? 0 : 1;
    }

    private static IEnumerable<(string, byte[])> Mutations(byte[] data, Random random)
    {
        yield return ("as is", data);
        if (data.Length == 0)
        {
            yield break;
        }
        for (var i = 0; i < 8; i++)
        {
            var flipped = (byte[])data.Clone();
            for (var f = 0; f <= i; f++)
            {
                flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
            }
            yield return ($"{i + 1} bit flips", flipped);
        }
        foreach (var fraction in new[] { 0.1, 0.5, 0.9 })
        {
            yield return ($"truncated {fraction:P0}", data[..(int)(data.Length * fraction)]);
        }
    }

    public void Dispose() => _detector.Dispose();
}
