using System.Diagnostics;

namespace FerService.Benchmarks;

/// <summary>One measured level: completed operations, failures by kind, and latencies of the successful ones.</summary>
internal sealed record LevelResult(int Concurrency, double Seconds, int Completed, IReadOnlyDictionary<string, int> Failures, double[] LatenciesMs)
{
    public double PerSecond => Completed / Seconds;

    public double Percentile(double p) => Percentile(LatenciesMs, p);

    /// <summary>The nearest-rank percentile of ascending values (NaN when there are none).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        var rank = (int)Math.Ceiling(p / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}

/// <summary>
/// Closed loop: <c>concurrency</c> workers each send the next image as soon as their previous one is answered, for a
/// fixed time. Throughput at concurrency c is what c synchronous clients get; latency is per image.
/// </summary>
internal static class LoadLoop
{
    /// <param name="operation">Processes image <c>index</c>; returns null on success or a failure kind (e.g. an HTTP status).</param>
    public static async Task<LevelResult> RunAsync(int concurrency, TimeSpan duration, int imageCount, Func<int, Task<string?>> operation)
    {
        var latencies = new List<double>[concurrency];
        var failures = new Dictionary<string, int>[concurrency];
        var clock = Stopwatch.StartNew();
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            var worker = w;
            latencies[worker] = new List<double>(4096);
            failures[worker] = [];
            // Task.Run: the bare pipeline decodes and detects synchronously, so each worker needs its own thread-pool turn.
            workers[worker] = Task.Run(async () =>
            {
                for (var i = worker; clock.Elapsed < duration; i += concurrency)
                {
                    var started = Stopwatch.GetTimestamp();
                    var failure = await operation(i % imageCount).ConfigureAwait(false);
                    if (failure is null)
                    {
                        latencies[worker].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                    else
                    {
                        failures[worker][failure] = failures[worker].GetValueOrDefault(failure) + 1;
                    }
                }
            });
        }
        await Task.WhenAll(workers).ConfigureAwait(false);
        var seconds = clock.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        var merged = new Dictionary<string, int>();
        foreach (var kinds in failures)
        {
            foreach (var (kind, count) in kinds)
            {
                merged[kind] = merged.GetValueOrDefault(kind) + count;
            }
        }
        return new LevelResult(concurrency, seconds, all.Length, merged, all);
    }
}
