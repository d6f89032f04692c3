using FerService.Inference;
using FerService.Inference.Alignment;
using FerService.Inference.Classification;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Onnx;
using FerService.Inference.Pipeline;
using FerService.Serving;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FerService.Inference.Tests.Serving;

/// <summary>The gate on images decoded and detected at once (<see cref="PipelineOptions.MaxConcurrentImages"/>).</summary>
public sealed class PipelineGateTests
{
    /// <summary>Holds every decode until <see cref="Release"/> is set and counts how many are inside; a first byte of 0 is corrupt.</summary>
    private sealed class HeldDecoder(bool released) : IImageDecoder
    {
        private int _running;
        private int _maxRunning;

        public ManualResetEventSlim Release { get; } = new(released);

        public int Running => Volatile.Read(ref _running);

        public int MaxRunning => Volatile.Read(ref _maxRunning);

        public RgbaImage Decode(ReadOnlySpan<byte> data, DecodeLimits limits, int minLongSide = 0)
        {
            var running = Interlocked.Increment(ref _running);
            for (var seen = _maxRunning; running > seen; seen = _maxRunning)
            {
                Interlocked.CompareExchange(ref _maxRunning, running, seen);
            }
            try
            {
                Release.Wait(TimeSpan.FromSeconds(30));
                return data[0] == 0 ? throw new ImageDecodeException("corrupt") : new RgbaImage(8, 8);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        public async Task WaitUntilRunning(int count)
        {
            for (var waited = 0; Running < count && waited < 10_000; waited += 5)
            {
                await Task.Delay(5);
            }
            Assert.Equal(count, Running);
        }
    }

    private sealed class NoFaces : IFaceDetector
    {
        public IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request, out int runs)
        {
            runs = 1;
            return [];
        }
    }

    private sealed class UnusedClassifier : IEmotionClassifier
    {
        public ModelManifest Manifest { get; } = new()
        {
            Name = "unused", Version = "1", File = "unused.onnx", Sha256 = "", OutputName = "logits",
            Labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
            Input = new ModelInput { Name = "input", Shape = [-1, 1, 4, 4], Channels = 1, Width = 4, Height = 4, Mean = [0.0], Std = [1.0] },
        };

        public void ComputeLogits(ReadOnlyMemory<float> crops, int count, Span<float> logits) => throw new InvalidOperationException("No face, no run.");
    }

    private static readonly AnalysisRequest Request = new(true, new DetectionRequest(0.6f, 10, 0));

    private static (PipelineFactory Factory, BatchScheduler Scheduler) Pipeline(IImageDecoder decoder, int maxConcurrentImages)
    {
        var classifier = new UnusedClassifier();
        var scheduler = new BatchScheduler(classifier, new BatchingOptions());
        var factory = new PipelineFactory(decoder, new FaceAligner(classifier.Manifest.Input), scheduler, DecodeLimits.Default,
            Options.Create(new PipelineOptions { MaxConcurrentImages = maxConcurrentImages }),
            new OnnxSessionFactory(Options.Create(new OnnxOptions()), NullLogger<OnnxSessionFactory>.Instance), new ModelCard(classifier.Manifest));
        return (factory, scheduler);
    }

    [Fact]
    public async Task AnalyzeAsync_EightConcurrentImagesGateOfTwo_DecodesTwoAtATimeAndFinishesAll()
    {
        var decoder = new HeldDecoder(released: false);
        var (factory, scheduler) = Pipeline(decoder, 2);
        await using var _ = scheduler;
        using var __ = factory;
        // Two pipelines (as the service has for uploads and streams) share one gate.
        var pipelines = new[] { factory.Create(new NoFaces()), factory.Create(new NoFaces()) };

        var all = Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => pipelines[i % 2].AnalyzeAsync(new byte[] { 1 }, Request, CancellationToken.None))));
        await decoder.WaitUntilRunning(2);
        await Task.Delay(200);
        var runningWhileHeld = decoder.Running;
        decoder.Release.Set();
        var results = await all;

        Assert.Equal(2, runningWhileHeld);
        Assert.Equal(2, decoder.MaxRunning);
        Assert.Equal(8, results.Length);
        Assert.All(results, r => Assert.Equal(8, r.Width));
    }

    [Fact]
    public async Task AnalyzeAsync_CorruptImageThroughGateOfOne_ReleasesTheGateForTheNext()
    {
        var (factory, scheduler) = Pipeline(new HeldDecoder(released: true), 1);
        await using var _ = scheduler;
        using var __ = factory;
        var pipeline = factory.Create(new NoFaces());

        await Assert.ThrowsAsync<ImageDecodeException>(() => pipeline.AnalyzeAsync(new byte[] { 0 }, Request, CancellationToken.None));
        var next = pipeline.AnalyzeAsync(new byte[] { 1 }, Request, CancellationToken.None);

        Assert.Same(next, await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Empty((await next).Faces);
    }

    [Fact]
    public async Task AnalyzeAsync_CancelledWhileWaitingForTheGate_ThrowsAndLeavesTheGateFree()
    {
        var decoder = new HeldDecoder(released: false);
        var (factory, scheduler) = Pipeline(decoder, 1);
        await using var _ = scheduler;
        using var __ = factory;
        var pipeline = factory.Create(new NoFaces());
        var first = Task.Run(() => pipeline.AnalyzeAsync(new byte[] { 1 }, Request, CancellationToken.None));
        await decoder.WaitUntilRunning(1);
        using var cancel = new CancellationTokenSource();

        var waiting = pipeline.AnalyzeAsync(new byte[] { 1 }, Request, cancel.Token);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        decoder.Release.Set();
        await first;
        var after = await pipeline.AnalyzeAsync(new byte[] { 1 }, Request, CancellationToken.None);
        Assert.Equal(8, after.Width);
        Assert.Equal(1, decoder.MaxRunning);
    }
}
