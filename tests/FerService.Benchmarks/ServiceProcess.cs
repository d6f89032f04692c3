using System.Diagnostics;
using System.Globalization;

namespace FerService.Benchmarks;

/// <summary>The service as users run it: its own process on real Kestrel (loopback), its log drained to a file.</summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServiceProcess(Process process, StreamWriter log, Uri address)
    {
        _process = process;
        _log = log;
        Address = address;
    }

    public Uri Address { get; }

    public int Id => _process.Id;

    public static async Task<ServiceProcess> StartAsync(string apiDll, int port, IEnumerable<string> settings, string logPath)
    {
        var address = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The content root, as where the service is deployed: its appsettings.json (log levels among them) lies there.
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(apiDll)),
        };
        start.ArgumentList.Add(Path.GetFullPath(apiDll));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address.ToString());
        foreach (var setting in settings)
        {
            start.ArgumentList.Add(setting);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start dotnet {apiDll}.");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var service = new ServiceProcess(process, log, address);
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 240; attempt++)
        {
            if (process.HasExited)
            {
                break;
            }
            try
            {
                using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative)).ConfigureAwait(false);
                if (ready.IsSuccessStatusCode)
                {
                    return service;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(250).ConfigureAwait(false);
        }
        service.Dispose();
        throw new InvalidOperationException($"The service did not become ready; see {logPath}.");
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }

    /// <summary>Resident and peak resident memory in MiB, from /proc.</summary>
    public (double Rss, double Peak) Memory() => ProcMemory(_process.Id);

    /// <summary>User plus system CPU time the service has used so far, all threads.</summary>
    public TimeSpan ProcessorTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public static (double Rss, double Peak) ProcMemory(int pid)
    {
        double rss = double.NaN, peak = double.NaN;
        var status = $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status";
        if (!File.Exists(status))
        {
            return (rss, peak);
        }
        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line) / 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line) / 1024;
            }
        }
        return (rss, peak);

        static double Kilobytes(string line) =>
            double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}

/// <summary>A Prometheus histogram read from /metrics: cumulative bucket counts by upper bound, sum and count.</summary>
internal sealed record PrometheusHistogram(SortedDictionary<double, double> Buckets, double Sum, double Count)
{
    public static async Task<PrometheusHistogram> ScrapeAsync(HttpClient client, string name)
    {
        var text = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)).ConfigureAwait(false);
        var buckets = new SortedDictionary<double, double>();
        double sum = 0, count = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }
            var value = double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            if (line.StartsWith(name + "_bucket", StringComparison.Ordinal))
            {
                var le = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
                var bound = line[le..line.IndexOf('"', le)];
                buckets[bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, CultureInfo.InvariantCulture)] = value;
            }
            else if (line.StartsWith(name + "_sum", StringComparison.Ordinal))
            {
                sum = value;
            }
            else if (line.StartsWith(name + "_count", StringComparison.Ordinal))
            {
                count = value;
            }
        }
        return new PrometheusHistogram(buckets, sum, count);
    }

    public PrometheusHistogram Minus(PrometheusHistogram earlier)
    {
        var buckets = new SortedDictionary<double, double>();
        foreach (var (bound, value) in Buckets)
        {
            buckets[bound] = value - earlier.Buckets.GetValueOrDefault(bound);
        }
        return new PrometheusHistogram(buckets, Sum - earlier.Sum, Count - earlier.Count);
    }

    public double Mean => Count > 0 ? Sum / Count : double.NaN;

    /// <summary>Share of observations per bucket, as "≤1: 40%, 2: 35%, 3–4: 20%, …" (integer-valued observations).</summary>
    public string Distribution()
    {
        if (Count <= 0)
        {
            return "none";
        }
        var parts = new List<string>();
        var previousBound = double.NegativeInfinity;
        double previous = 0;
        foreach (var (bound, cumulative) in Buckets)
        {
            var share = (cumulative - previous) / Count;
            if (share > 0)
            {
                var low = double.IsNegativeInfinity(previousBound) ? bound : previousBound + 1;
                var label = double.IsPositiveInfinity(bound) ? $">{previousBound}" : low >= bound ? $"{bound}" : $"{low}-{bound}";
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{label}: {share:P0}"));
            }
            previous = cumulative;
            previousBound = bound;
        }
        return string.Join(", ", parts);
    }
}
