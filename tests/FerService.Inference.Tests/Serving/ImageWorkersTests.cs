using System.Collections.Concurrent;
using FerService.Inference.Pipeline;
using FerService.Serving;

namespace FerService.Inference.Tests.Serving;

public sealed class ImageWorkersTests
{
    [Fact]
    public async Task RunAsync_OneWorker_RunsInArrivalOrderOffTheThreadPool()
    {
        using var workers = new ImageWorkers(1);
        using var hold = new ManualResetEventSlim();
        var order = new ConcurrentQueue<int>();
        var first = workers.RunAsync(() =>
        {
            hold.Wait(TimeSpan.FromSeconds(10));
            return Thread.CurrentThread.IsThreadPoolThread;
        }, CancellationToken.None);
        var rest = Enumerable.Range(0, 20).Select(i => workers.RunAsync(() =>
        {
            order.Enqueue(i);
            return i;
        }, CancellationToken.None)).ToArray();

        hold.Set();

        Assert.False(await first);
        Assert.Equal(Enumerable.Range(0, 20), await Task.WhenAll(rest));
        Assert.Equal(Enumerable.Range(0, 20), order);
    }

    [Fact]
    public async Task RunAsync_WorkThrows_TaskFaultsAndTheWorkerTakesTheNext()
    {
        using var workers = new ImageWorkers(1);

        var failed = workers.RunAsync<int>(() => throw new InvalidDataException("bad image"), CancellationToken.None);
        var next = workers.RunAsync(() => 7, CancellationToken.None);

        Assert.Equal("bad image", (await Assert.ThrowsAsync<InvalidDataException>(() => failed)).Message);
        Assert.Equal(7, await next);
    }
}
