using System.Collections.Concurrent;
using System.Diagnostics;

using FerService.Inference.Pipeline;

namespace FerService.Serving;

/// <summary>
/// Dedicated threads, one per admitted image (<see cref="PipelineOptions.ConcurrentImages"/>), that take work in arrival
/// order: the CPU-heavy part of an image (decode, detect, align). On the thread pool that work queued in front of the
/// short continuations that finish images (classifier results, the response), so a finished image waited for whole
/// detections of later ones; here the pool stays free for them and the kernel shares the cores.
/// </summary>
internal sealed class ImageWorkers : IDisposable
{
    private readonly BlockingCollection<IWorkItem> _queue = new(new ConcurrentQueue<IWorkItem>());
    private readonly Thread[] _threads;

    private readonly ServingMetrics? _metrics;

    /// <param name="metrics">Where each image's wait for a worker goes; null records nothing.</param>
    public ImageWorkers(int count, ServingMetrics? metrics = null)
    {
        _metrics = metrics;
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"fer-image-{i}" };
            _threads[i].Start();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a worker once those ahead of it have started. Cancelling before it starts completes the
    /// task at once and skips the work; once started, the work itself watches the token.
    /// </summary>
    public Task<T> RunAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var item = new WorkItem<T>(work, _metrics, cancellationToken);
        _queue.Add(item, CancellationToken.None);
        return item.Completion.Task;
    }

    private void Work()
    {
        foreach (var item in _queue.GetConsumingEnumerable())
        {
            item.Run();
        }
    }

    public void Dispose()
    {
        _queue.CompleteAdding();
        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(30));
        }
        _queue.Dispose();
    }

    private interface IWorkItem
    {
        void Run();
    }

    private sealed class WorkItem<T> : IWorkItem
    {
        private readonly Func<T> _work;
        private readonly CancellationToken _cancellationToken;
        private readonly CancellationTokenRegistration _registration;
        private readonly ServingMetrics? _metrics;
        private readonly long _queued = Stopwatch.GetTimestamp();

        public WorkItem(Func<T> work, ServingMetrics? metrics, CancellationToken cancellationToken)
        {
            _work = work;
            _metrics = metrics;
            _cancellationToken = cancellationToken;
            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.Register(static state =>
                {
                    var item = (WorkItem<T>)state!;
                    item.Completion.TrySetCanceled(item._cancellationToken);
                }, this);
            }
        }

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run()
        {
            // From here on the result is ours to deliver: a cancellation can no longer complete the task under the work.
            _registration.Dispose();
            if (Completion.Task.IsCompleted)
            {
                return;
            }
            _metrics?.ImageWaitSeconds.Record(Stopwatch.GetElapsedTime(_queued).TotalSeconds);
            try
            {
                Completion.TrySetResult(_work());
            }
            catch (OperationCanceledException) when (_cancellationToken.IsCancellationRequested)
            {
                Completion.TrySetCanceled(_cancellationToken);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Completion.TrySetException(e);
            }
        }
    }
}
