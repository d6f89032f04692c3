using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace FerService.Tests.Shared;

/// <summary>
/// The built service as users run it: its own process on real Kestrel (loopback), its output drained (to a file when one
/// is named, else kept for <see cref="Output"/>), killed on dispose if still running. Shared by the Api tests and the benchmark.
/// </summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly StreamWriter? _log;
    private readonly string? _logPath;
    private readonly System.Text.StringBuilder _output = new();

    private ServiceProcess(Process process, string? logPath, Uri address)
    {
        Process = process;
        _logPath = logPath;
        _log = logPath is null ? null : new StreamWriter(logPath) { AutoFlush = true };
        Address = address;
    }

    public Process Process { get; }

    public Uri Address { get; }

    /// <summary>Starts <paramref name="apiDll"/> on <paramref name="port"/> (0: a free one), its content root beside it.</summary>
    public static ServiceProcess Start(string apiDll, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null,
        string? logPath = null, int port = 0)
    {
        var address = new Uri($"http://127.0.0.1:{(port == 0 ? FreePort() : port).ToString(CultureInfo.InvariantCulture)}");
        var start = new ProcessStartInfo("dotnet")
        {
            // The content root, as where the service is deployed: its appsettings.json (log levels among them) lies there.
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(apiDll)),
        };
        start.ArgumentList.Add(Path.GetFullPath(apiDll));
        return Launch(start, address, arguments, environment, logPath);
    }

    /// <summary>
    /// Starts <paramref name="project"/> as the README does, <c>dotnet run</c> from <paramref name="workingDirectory"/> (its
    /// launch profile applies), without building it again. ASPNETCORE_ENVIRONMENT and DOTNET_ENVIRONMENT are cleared, as a
    /// user's shell sets neither.
    /// </summary>
    public static ServiceProcess Run(string project, string configuration, string workingDirectory, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory };
        foreach (var argument in new[] { "run", "--no-build", "-c", configuration, "--project", project, "--" })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        return Launch(start, new Uri($"http://127.0.0.1:{FreePort().ToString(CultureInfo.InvariantCulture)}"), arguments, environment, logPath: null);
    }

    private static ServiceProcess Launch(ProcessStartInfo start, Uri address, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment, string? logPath)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(address.ToString());
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start dotnet {string.Join(' ', start.ArgumentList)}.");
        var service = new ServiceProcess(process, logPath, address);
        process.OutputDataReceived += (_, e) => service.Write(e.Data);
        process.ErrorDataReceived += (_, e) => service.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return service;
    }

    /// <summary>Polls /health/ready until it answers 2xx; throws when the process exits or the time runs out.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!Process.HasExited && Stopwatch.GetTimestamp() < deadline)
        {
            try
            {
                using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative)).ConfigureAwait(false);
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(250).ConfigureAwait(false);
        }
        var seeLog = _logPath is null ? "" : $" See {_logPath}.";
        throw new InvalidOperationException(Process.HasExited
            ? $"The service exited with code {Process.ExitCode} before it was ready.{seeLog}"
            : $"The service was not ready within {timeout.TotalSeconds:F0} s.{seeLog}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Standard output and error so far, when no log file was named (a benchmark's logs would grow without bound).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private void Write(string? line)
    {
        if (line is null)
        {
            return;
        }
        if (_log is not null)
        {
            lock (_log)
            {
                _log.WriteLine(line);
            }
            return;
        }
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>Resident and peak resident memory in MiB, from /proc.</summary>
    public (double Rss, double Peak) Memory() => ProcMemory(Process.Id);

    /// <summary>User plus system CPU time the service has used so far, all threads.</summary>
    public TimeSpan ProcessorTime()
    {
        Process.Refresh();
        return Process.TotalProcessorTime;
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
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit(10_000);
        }
        Process.Dispose();
        if (_log is not null)
        {
            lock (_log)
            {
                _log.Dispose();
            }
        }
    }
}
