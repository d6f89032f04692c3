using System.Buffers;
using System.Threading.Channels;
using FerService.Inference.Classification;

namespace FerService.Serving;

/// <summary>
/// Collects crops from all concurrent requests into one channel; a single worker classifies up to
/// MaxBatchSize of them per session run, waiting at most MaxBatchDelay for a batch to fill.
/// A caller's cancellation completes its waiters at once and the worker skips their crops.
/// </summary>
internal sealed class BatchScheduler : IAsyncDisposable
{
    private readonly IEmotionClassifier _classifier;
    private readonly BatchingOptions _options;
    private readonly Channel<PendingCrop> _channel;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _cropLength;
    private readonly int _classes;
    private readonly double _temperature;
    private readonly ServingMetrics? _metrics;
    private int _queued;

    /// <param name="metrics">Where batch sizes, waits and the queue length go; null records nothing.</param>
    public BatchScheduler(IEmotionClassifier classifier, BatchingOptions options, ServingMetrics? metrics = null)
    {
        _metrics = metrics;
        _classifier = classifier;
        _options = options;
        var input = classifier.Manifest.Input;
        _cropLength = input.Channels * input.Width * input.Height;
        _classes = classifier.Manifest.Labels.Count;
        _temperature = classifier.Manifest.Temperature;
        _channel = Channel.CreateBounded<PendingCrop>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        metrics?.ObserveQueueLength(() => QueueLength);
        // A thread of its own: as a thread-pool item the worker queued behind whole detections, and every image waited with it.
        new Thread(Run) { IsBackground = true, Name = "fer-classifier" }.Start();
    }

    /// <summary>Crops waiting in the queue now.</summary>
    public int QueueLength => Volatile.Read(ref _queued);

    /// <summary>Classifies one crop (CropLength normalised floats); returns calibrated probabilities in label order.</summary>
    public Task<float[]> ClassifyAsync(float[] crop, CancellationToken cancellationToken)
    {
        var pending = new PendingCrop(crop, cancellationToken);
        Interlocked.Increment(ref _queued);
        if (!_channel.Writer.TryWrite(pending))
        {
            Interlocked.Decrement(ref _queued);
            pending.Dispose();
            throw new QueueFullException();
        }
        return pending.Completion.Task;
    }

    private void Run()
    {
        try
        {
            RunBatches();
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private void RunBatches()
    {
        var reader = _channel.Reader;
        var batch = new List<PendingCrop>(_options.MaxBatchSize);
        var crops = new float[_options.MaxBatchSize * _cropLength];
        var logits = new float[_options.MaxBatchSize * _classes];
        while (WaitToRead(reader, CancellationToken.None))
        {
            batch.Clear();
            Fill(reader, batch);
            if (batch.Count > 0 && batch.Count < _options.MaxBatchSize && _options.MaxBatchDelay > TimeSpan.Zero)
            {
                using var delay = new CancellationTokenSource(_options.MaxBatchDelay);
                try
                {
                    while (batch.Count < _options.MaxBatchSize && WaitToRead(reader, delay.Token))
                    {
                        Fill(reader, batch);
                    }
                }
                catch (OperationCanceledException) when (delay.IsCancellationRequested)
                {
                    // The batch window closed; run what we have.
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            Classify(batch, crops, logits);
        }
    }

    /// <summary>Blocks the worker thread until a crop is there (true) or the queue is closed (false).</summary>
    private static bool WaitToRead(ChannelReader<PendingCrop> reader, CancellationToken cancellationToken)
    {
        var wait = reader.WaitToReadAsync(cancellationToken);
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private void Fill(ChannelReader<PendingCrop> reader, List<PendingCrop> batch)
    {
        while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var item))
        {
            Interlocked.Decrement(ref _queued);
            _metrics?.QueueWaitSeconds.Record(item.Waited.TotalSeconds);
            if (item.Completion.Task.IsCompleted)
            {
                item.Dispose();
                continue;
            }
            batch.Add(item);
        }
    }

    private void Classify(List<PendingCrop> batch, float[] crops, float[] logits)
    {
        try
        {
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Crop.AsSpan(0, _cropLength).CopyTo(crops.AsSpan(i * _cropLength, _cropLength));
            }
            _classifier.ComputeLogits(crops, batch.Count, logits);
            _metrics?.BatchSizes.Record(batch.Count);
            for (var i = 0; i < batch.Count; i++)
            {
                var probabilities = new float[_classes];
                Softmax.Compute(logits.AsSpan(i * _classes, _classes), probabilities, _temperature);
                batch[i].Completion.TrySetResult(probabilities);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            foreach (var item in batch)
            {
                item.Completion.TrySetException(e);
            }
        }
        finally
        {
            foreach (var item in batch)
            {
                item.Dispose();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _stopped.Task.ConfigureAwait(false);
    }

    private sealed class PendingCrop : IDisposable
    {
        private readonly long _enqueued = System.Diagnostics.Stopwatch.GetTimestamp();
        private readonly CancellationTokenRegistration _registration;

        public PendingCrop(float[] crop, CancellationToken cancellationToken)
        {
            Crop = crop;
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.Register(static state =>
                {
                    var (completion, token) = ((TaskCompletionSource<float[]>, CancellationToken))state!;
                    completion.TrySetCanceled(token);
                }, (Completion, cancellationToken));
            }
        }

        public float[] Crop { get; }

        public TaskCompletionSource<float[]> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TimeSpan Waited => System.Diagnostics.Stopwatch.GetElapsedTime(_enqueued);

        public void Dispose() => _registration.Dispose();
    }
}
