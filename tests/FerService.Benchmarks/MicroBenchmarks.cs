using BenchmarkDotNet.Attributes;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;

namespace FerService.Benchmarks;

/// <summary>Shared set-up: the service's default pipeline and one 640×480 JPEG scene with 2 faces.</summary>
public abstract class PipelineBenchmarkBase : IDisposable
{
    private BenchPipeline? _pipeline;

    internal BenchPipeline Pipeline => _pipeline ?? throw new InvalidOperationException("GlobalSetup has not run.");

    internal byte[] Jpeg { get; private set; } = [];

    internal RgbaImage Image { get; private set; } = null!;

    internal IReadOnlyList<DetectedFace> Faces { get; private set; } = [];

    [GlobalSetup]
    public void Setup()
    {
        _pipeline = new BenchPipeline(Settings);
        Jpeg = Scenes.Build(2)[1].Encoded;
        Image = new SkiaImageDecoder().Decode(Jpeg, DecodeLimits.Default);
        Faces = Pipeline.Detector.Detect(Image, Pipeline.Request.Detection);
        AfterSetup();
    }

    private protected virtual PipelineSettings Settings => new();

    protected virtual void AfterSetup()
    {
    }

    [GlobalCleanup]
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Image?.Dispose();
            _pipeline?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _pipeline = null;
        }
    }
}

/// <summary>Decode of the 640×480 JPEG to RGBA (the first stage of every request).</summary>
public class DecodeBenchmarks : PipelineBenchmarkBase
{
    private readonly SkiaImageDecoder _decoder = new();

    [Benchmark]
    public int Decode640x480Jpeg()
    {
        using var image = _decoder.Decode(Jpeg, DecodeLimits.Default);
        return image.Width;
    }
}

/// <summary>The detector's own preprocessing (shrink, bilinear, planar BGR) and the whole detector stage.</summary>
public class DetectorBenchmarks : PipelineBenchmarkBase
{
    private float[] _input = [];
    private (float Scale, int Columns, int Rows) _shape;

    protected override void AfterSetup()
    {
        _shape = YuNetDetector.InputShape(Image.Width, Image.Height, Pipeline.Detector.MaxInputSide);
        _input = new float[3 * _shape.Columns * _shape.Rows];
    }

    /// <summary>The 640×480 image into the detector's input.</summary>
    [Benchmark]
    public float Preprocess()
    {
        DetectorInput.Preprocess(Image, _shape.Scale, _shape.Columns, _shape.Rows, _input);
        return _input[0];
    }

    /// <summary>The whole detector stage as the service runs it: preprocess, one run, decode, suppression.</summary>
    [Benchmark]
    public int Detect() => Pipeline.Detector.Detect(Image, Pipeline.Request.Detection).Count;
}

/// <summary>Rotate, crop and resize one detected face to the classifier's input.</summary>
public class AlignmentBenchmarks : PipelineBenchmarkBase
{
    private float[] _crop = [];

    protected override void AfterSetup() => _crop = new float[Pipeline.Aligner.CropLength];

    [Benchmark]
    public float CropFace()
    {
        Pipeline.Aligner.CropFace(Image, Faces[0], _crop);
        return _crop[0];
    }
}

/// <summary>One classifier run at batch 1, 8 and 32 (per-face cost falls as the batch grows), float32 and int8 models.</summary>
public class ClassifierBenchmarks : PipelineBenchmarkBase
{
    private float[] _crops = [];
    private float[] _logits = [];

    [Params(1, 8, 32)]
    public int Batch { get; set; }

    [Params("fp32", "int8")]
    public string Classifier { get; set; } = "fp32";

    private protected override PipelineSettings Settings => new() { Classifier = Classifier };

    protected override void AfterSetup()
    {
        _crops = Scenes.Crops(Pipeline.Aligner, Batch);
        _logits = new float[Batch * Pipeline.Classifier.Manifest.Labels.Count];
    }

    [Benchmark]
    public float Classify()
    {
        Pipeline.Classifier.ComputeLogits(_crops, Batch, _logits);
        return _logits[0];
    }
}

/// <summary>One request's work without HTTP: decode → detect → align → batched classify; Allocated is bytes per image.</summary>
public class PipelineBenchmarks : PipelineBenchmarkBase
{
    [Benchmark]
    public async Task<int> Analyze640x480Jpeg() =>
        (await Pipeline.Pipeline.AnalyzeAsync(Jpeg, Pipeline.Request, CancellationToken.None).ConfigureAwait(false)).Faces.Count;
}
