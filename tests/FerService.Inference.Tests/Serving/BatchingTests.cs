using System.Collections.Concurrent;
using FerService.Inference.Classification;
using FerService.Serving;

namespace FerService.Inference.Tests.Serving;

public sealed class BatchingTests
{
    /// <summary>A classifier whose logit for class k is crop[0] == k: each caller can check it got its own answer.</summary>
    private sealed class EchoClassifier(int cropLength, TimeSpan runTime) : IEmotionClassifier
    {
        public ConcurrentBag<int> BatchSizes { get; } = [];
        private int _running;

        public ModelManifest Manifest { get; } = new()
        {
            Name = "echo", Version = "1", File = "echo.onnx", Sha256 = "", OutputName = "logits",
            Labels = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"],
            Input = new ModelInput { Name = "input", Shape = [-1, 1, 1, cropLength], Channels = 1, Width = cropLength, Height = 1, Mean = [0.0], Std = [1.0] },
        };

        public int MaxConcurrentRuns { get; private set; }

        /// <summary>Reset to hold runs until the test sets it again.</summary>
        public ManualResetEventSlim Gate { get; } = new(true);

        public ManualResetEventSlim Entered { get; } = new(false);

        public void ComputeLogits(ReadOnlyMemory<float> crops, int count, Span<float> logits)
        {
            var running = Interlocked.Increment(ref _running);
            MaxConcurrentRuns = Math.Max(MaxConcurrentRuns, running);
            BatchSizes.Add(count);
            Entered.Set();
            Gate.Wait();
            Thread.Sleep(runTime);
            var span = crops.Span;
            for (var i = 0; i < count; i++)
            {
                var target = (int)span[i * cropLength];
                for (var k = 0; k < 7; k++)
                {
                    logits[i * 7 + k] = k == target ? 10f : 0f;
                }
            }
            Interlocked.Decrement(ref _running);
        }
    }

    [Fact]
    public async Task ClassifyAsync_ManyConcurrentCallers_EachGetsItsOwnResultWithinBatchLimit()
    {
        var classifier = new EchoClassifier(4, TimeSpan.FromMilliseconds(3));
        await using var scheduler = new BatchScheduler(classifier, new BatchingOptions { MaxBatchSize = 8, MaxBatchDelay = TimeSpan.FromMilliseconds(5) });

        var callers = Enumerable.Range(0, 200).Select(i => Task.Run(() =>
        {
            var crop = new float[4];
            crop[0] = i % 7;
            return scheduler.ClassifyAsync(crop, CancellationToken.None);
        })).ToArray();
        var results = await Task.WhenAll(callers);

        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 7, Softmax.ArgMax(results[i]));
            Assert.Equal(1f, results[i].Sum(), 4);
        }
        Assert.All(classifier.BatchSizes, size => Assert.InRange(size, 1, 8));
        Assert.Equal(200, classifier.BatchSizes.Sum());
        Assert.True(classifier.BatchSizes.Count < 200, "concurrent crops should share runs");
        Assert.Equal(1, classifier.MaxConcurrentRuns);
    }

    [Fact]
    public async Task ClassifyAsync_CancelledWhileQueued_CompletesAsCancelledAndIsNotClassified()
    {
        var classifier = new EchoClassifier(4, TimeSpan.Zero);
        await using var scheduler = new BatchScheduler(classifier, new BatchingOptions { MaxBatchSize = 1, MaxBatchDelay = TimeSpan.Zero });
        classifier.Gate.Reset();
        var blocker = scheduler.ClassifyAsync(new float[4], CancellationToken.None);
        Assert.True(classifier.Entered.Wait(TimeSpan.FromSeconds(10)));

        using var cancellation = new CancellationTokenSource();
        var cancelled = scheduler.ClassifyAsync([3f, 0, 0, 0], cancellation.Token);
        await cancellation.CancelAsync();
        classifier.Gate.Set();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        await blocker;
        var after = await scheduler.ClassifyAsync([5f, 0, 0, 0], CancellationToken.None);
        Assert.Equal(5, Softmax.ArgMax(after));
        Assert.Equal(2, classifier.BatchSizes.Count);
    }

    [Fact]
    public async Task ClassifyAsync_QueueFull_ThrowsQueueFull()
    {
        var classifier = new EchoClassifier(4, TimeSpan.Zero);
        await using var scheduler = new BatchScheduler(classifier, new BatchingOptions { MaxBatchSize = 1, MaxBatchDelay = TimeSpan.Zero, QueueCapacity = 2 });
        classifier.Gate.Reset();
        var first = scheduler.ClassifyAsync(new float[4], CancellationToken.None);
        Assert.True(classifier.Entered.Wait(TimeSpan.FromSeconds(10)));

        var queued = new[] { scheduler.ClassifyAsync(new float[4], CancellationToken.None), scheduler.ClassifyAsync(new float[4], CancellationToken.None) };
        Assert.Throws<QueueFullException>(() => { _ = scheduler.ClassifyAsync(new float[4], CancellationToken.None); });
        classifier.Gate.Set();
        await Task.WhenAll([first, .. queued]);
    }
}
