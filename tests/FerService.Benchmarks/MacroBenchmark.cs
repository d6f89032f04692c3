using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using FerService.Inference;
using FerService.Inference.Pipeline;
using FerService.Tests.Shared;
using FerService.Serving;
using Microsoft.ML.OnnxRuntime;
using static System.FormattableString;

namespace FerService.Benchmarks;

internal sealed record MacroSettings
{
    public int Seconds { get; init; } = 15;
    public IReadOnlyList<int> Concurrency { get; init; } = [1, 4, 8, 16];
    public int Images { get; init; } = 20;
    /// <summary>"mixed": 640×480 to 1280×720 JPEGs with 0–4 faces of 48–250 px; "vga": the earlier 640×480 set with 1–4 faces of 64–200 px.</summary>
    public string Scenes { get; init; } = "mixed";
    public string? ServiceDll { get; init; }
    public int Port { get; init; } = 18090;
    public bool Bare { get; init; } = true;
    /// <summary>"raw": pre-built requests over kept-alive sockets (light on the shared cores); "httpclient": HttpClient.</summary>
    public string LoadClient { get; init; } = "raw";
    /// <summary>More configuration for the service process only, e.g. "--Fer:Limits:MaxConcurrentRequests=8".</summary>
    public IReadOnlyList<string> ExtraServiceArguments { get; init; } = [];
    public string OutputDirectory { get; init; } = Path.Combine(Repository.Root, "artifacts", "benchmarks");
    public PipelineSettings Pipeline { get; init; } = new();

    public static MacroSettings Parse(IReadOnlyList<string> args)
    {
        var settings = new MacroSettings();
        var pipeline = new PipelineSettings();
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--seconds": settings = settings with { Seconds = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--concurrency": settings = settings with { Concurrency = [.. value.Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))] }; break;
                case "--images": settings = settings with { Images = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--scenes": settings = settings with { Scenes = value is "mixed" or "vga" ? value : throw new ArgumentException("--scenes must be mixed or vga.") }; break;
                case "--service": settings = settings with { ServiceDll = value }; break;
                case "--port": settings = settings with { Port = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--bare": settings = settings with { Bare = bool.Parse(value) }; break;
                case "--service-arg": settings = settings with { ExtraServiceArguments = [.. settings.ExtraServiceArguments, value] }; break;
                case "--load-client": settings = settings with { LoadClient = value is "raw" or "httpclient" ? value : throw new ArgumentException("--load-client must be raw or httpclient.") }; break;
                case "--out": settings = settings with { OutputDirectory = value }; break;
                case "--intra-op-threads": pipeline = pipeline with { IntraOpThreads = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--detector-side": pipeline = pipeline with { DetectorInputSide = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--min-score": pipeline = pipeline with { MinScore = float.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--classifier": pipeline = pipeline with { Classifier = value is "fp32" or "int8" ? value : throw new ArgumentException("--classifier must be fp32 or int8.") }; break;
                case "--flip": pipeline = pipeline with { FlipAveraging = bool.Parse(value) }; break;
                case "--max-batch": pipeline = pipeline with { MaxBatchSize = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--max-concurrent-images": pipeline = pipeline with { MaxConcurrentImages = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                default: throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }
        return settings with { Pipeline = pipeline };
    }

    /// <summary>The same settings for the service process, as configuration on its command line.</summary>
    public IEnumerable<string> ServiceArguments() =>
    [
        Invariant($"--Fer:Onnx:IntraOpThreads={Pipeline.IntraOpThreads}"),
        $"--Fer:Detection:ModelPath=models/{PipelineSettings.DetectorFile}",
        $"--Fer:Models:ClassifierManifest=models/{Pipeline.ClassifierManifest}",
        Invariant($"--Fer:Detection:MaxInputSide={Pipeline.DetectorInputSide}"),
        Invariant($"--Fer:Detection:MinScore={Pipeline.MinScore}"),
        $"--Fer:Pipeline:FlipAveraging={Pipeline.FlipAveraging}",
        Invariant($"--Fer:Batching:MaxBatchSize={Pipeline.MaxBatchSize}"),
        Invariant($"--Fer:Pipeline:MaxConcurrentImages={Pipeline.MaxConcurrentImages}"),
        .. ExtraServiceArguments,
    ];
}

/// <summary>
/// Bare pipeline in process vs the service over HTTP, same images, same concurrency levels, one run on one machine:
/// throughput, latency percentiles, the service/bare ratio, classifier batch sizes, memory, and dynamic batching's gain.
/// </summary>
internal static class MacroBenchmark
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>
    /// Load before the first measured level, on each side: tiered JIT (with dynamic PGO) and the GC's budgets settle under
    /// load, and compile in the background on the same 2 cores. After 3 s the service's first c=8 level still ran 10 %
    /// slower than the next three (108 against 120–123 images/s, 17.5 against 15.2–15.5 ms of CPU per image).
    /// </summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(10);

    private static int WarmUpConcurrency(MacroSettings settings) => Math.Max(4, settings.Concurrency.Max());

    public static async Task<int> RunAsync(MacroSettings settings)
    {
        Directory.CreateDirectory(settings.OutputDirectory);
        var duration = TimeSpan.FromSeconds(settings.Seconds);
        var scenes = settings.Scenes == "mixed" ? Scenes.BuildMixed(settings.Images) : Scenes.Build(settings.Images);
        var pasted = scenes.Sum(s => s.Faces.Count);
        var sizes = string.Join(", ", scenes.Select(s => $"{s.Width}x{s.Height}").Distinct());
        Console.WriteLine(Invariant($"{Environment.ProcessorCount} cores; {scenes.Count} {settings.Scenes} scenes ({sizes}) JPEG, {pasted} faces, mean {scenes.Average(s => s.Encoded.Length) / 1024:F0} KiB; {settings.Seconds} s per level"));
        Console.WriteLine(Invariant($"pipeline: detector {PipelineSettings.DetectorFile}, input long side ≤ {settings.Pipeline.DetectorInputSide}, threshold {settings.Pipeline.MinScore}")
            + $", classifier {settings.Pipeline.Classifier}, flip averaging {settings.Pipeline.FlipAveraging}, TurboJPEG {FerService.Inference.Imaging.TurboJpeg.IsAvailable}, "
            + Invariant($"intra-op threads {settings.Pipeline.IntraOpThreads} (0 = cores), max batch {settings.Pipeline.MaxBatchSize}"));

        var bare = new List<(LevelResult Result, double AllocatedPerImage, PrometheusHistogram Batches, CpuUsage Cpu)>();
        object batching = "skipped";
        StageCpu? stageCpu = null;
        if (settings.Bare)
        {
            await using var pipeline = new BenchPipeline(settings.Pipeline);
            var found = 0;
            using (var views = new CountListener(ServingMetrics.DetectorRunsInstrument))
            {
                foreach (var scene in scenes)
                {
                    found += (await pipeline.Pipeline.AnalyzeAsync(scene.Encoded, pipeline.Request, CancellationToken.None)).Faces.Count;
                }
                Console.WriteLine(Invariant($"bare pipeline finds {found} faces in the {pasted} pasted, {views.Mean:F2} detector runs per image"));
            }
            Task<ImageAnalysis> Analyze(int i) => pipeline.Pipeline.AnalyzeAsync(scenes[i].Encoded, pipeline.Request, CancellationToken.None);
            await LoadLoop.RunAsync(WarmUpConcurrency(settings), WarmUp, scenes.Count, async i =>
            {
                await Analyze(i).ConfigureAwait(false);
                return null;
            });
            using var batches = new CountListener(ServingMetrics.BatchSizeInstrument);
            foreach (var concurrency in settings.Concurrency)
            {
                batches.Reset();
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var cpu = CpuClock.Start(null);
                var stages = new System.Collections.Concurrent.ConcurrentQueue<StageTimes>();
                var result = await LoadLoop.RunAsync(concurrency, duration, scenes.Count, async i =>
                {
                    var started = Stopwatch.GetTimestamp();
                    var analysis = await Analyze(i).ConfigureAwait(false);
                    stages.Enqueue(new StageTimes(scenes[i].Faces.Count, Stopwatch.GetElapsedTime(started).TotalMilliseconds, analysis.Timings));
                    return null;
                });
                var perImage = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)Math.Max(1, result.Completed);
                var usage = cpu.Stop(result);
                bare.Add((result, perImage, batches.Snapshot(), usage));
                Console.WriteLine(Invariant($"  bare c={concurrency,-3} {result.PerSecond,6:F1} img/s  p50 {result.Percentile(50),6:F1} ms  p99 {result.Percentile(99),6:F1} ms  {perImage / 1024,7:F0} KiB allocated/image  mean batch {batches.Mean:F2}  {usage}"));
                Console.WriteLine($"           {StageTimes.Summary([.. stages])}");
            }
            batching = MeasureBatching(pipeline);
            stageCpu = StageCpu.Measure(pipeline, scenes);
            Console.WriteLine(stageCpu);
        }
        var bareRss = ServiceProcess.ProcMemory(Environment.ProcessId);

        var service = new List<(LevelResult Result, PrometheusHistogram Batches, (double Rss, double Peak) Memory, CpuUsage Cpu)>();
        (double Rss, double Peak) serviceIdle = (double.NaN, double.NaN);
        if (settings.ServiceDll is { } dll)
        {
            var log = Path.Combine(settings.OutputDirectory, "service.log");
            using var process = ServiceProcess.Start(dll, settings.ServiceArguments(), logPath: log, port: settings.Port);
            await process.WaitReadyAsync(TimeSpan.FromMinutes(1));
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                BaseAddress = process.Address,
                Timeout = TimeSpan.FromSeconds(60),
            };
            using var raw = RawHttpLoad.ForImages(process.Address, "/api/emotions", [.. scenes.Select(s => s.Encoded)], "image/jpeg");
            Func<int, Task<string?>> post = settings.LoadClient == "raw" ? raw.SendAsync : async i =>
            {
                using var content = new MultipartFormDataContent();
                var image = new ByteArrayContent(scenes[i].Encoded);
                image.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
                content.Add(image, "images", Invariant($"scene{i}.jpg"));
                using var response = await client.PostAsync(new Uri("/api/emotions", UriKind.Relative), content).ConfigureAwait(false);
                await response.Content.LoadIntoBufferAsync().ConfigureAwait(false);
                return response.IsSuccessStatusCode ? null : ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
            };
            await LoadLoop.RunAsync(WarmUpConcurrency(settings), WarmUp, scenes.Count, post);
            serviceIdle = process.Memory();
            foreach (var concurrency in settings.Concurrency)
            {
                var before = await PrometheusHistogram.ScrapeAsync(client, "fer_classifier_batch_size");
                var cpu = CpuClock.Start(process);
                var result = await LoadLoop.RunAsync(concurrency, duration, scenes.Count, post);
                var usage = cpu.Stop(result);
                var batches = (await PrometheusHistogram.ScrapeAsync(client, "fer_classifier_batch_size")).Minus(before);
                var memory = process.Memory();
                service.Add((result, batches, memory, usage));
                Console.WriteLine(Invariant($"  http c={concurrency,-3} {result.PerSecond,6:F1} img/s  p50 {result.Percentile(50),6:F1} ms  p99 {result.Percentile(99),6:F1} ms  mean batch {batches.Mean:F2}  RSS {memory.Rss:F0} MiB  failures {Failures(result)}  {usage}"));
            }
        }

        Console.WriteLine();
        Console.WriteLine(Table(bare.Select(b => b.Result).ToList(), service));
        if (bare.Count > 0)
        {
            Console.WriteLine(Invariant($"bare allocation per image: {string.Join(", ", bare.Select(b => Invariant($"c={b.Result.Concurrency}: {b.AllocatedPerImage / 1024:F0} KiB")))}"));
            Console.WriteLine($"bare batch sizes at c={bare[^1].Result.Concurrency}: {bare[^1].Batches.Distribution()}");
            Console.WriteLine($"dynamic batching: {batching}");
        }
        if (service.Count > 0)
        {
            Console.WriteLine($"service batch sizes at c={service[^1].Result.Concurrency}: {service[^1].Batches.Distribution()}");
            Console.WriteLine(Invariant($"service RSS: {serviceIdle.Rss:F0} MiB after warm-up, {service[^1].Memory.Rss:F0} MiB at the end, peak {service[^1].Memory.Peak:F0} MiB"));
        }
        Console.WriteLine(Invariant($"benchmark process (bare pipeline) RSS {bareRss.Rss:F0} MiB, peak {bareRss.Peak:F0} MiB"));

        var report = new
        {
            machine = new { cores = Environment.ProcessorCount, os = System.Runtime.InteropServices.RuntimeInformation.OSDescription },
            settings = new { settings.Seconds, settings.Images, settings.Scenes, settings.LoadClient, settings.ExtraServiceArguments, settings.Pipeline },
            bare = bare.Select(b => new { b.Result.Concurrency, imagesPerSecond = b.Result.PerSecond, p50 = b.Result.Percentile(50), p95 = b.Result.Percentile(95), p99 = b.Result.Percentile(99), allocatedBytesPerImage = b.AllocatedPerImage, meanBatch = b.Batches.Mean, batches = b.Batches.Distribution(), cpuMsPerImage = b.Cpu.OwnMsPerImage, cpuIdleShare = b.Cpu.IdleShare }),
            service = service.Select(s => new { s.Result.Concurrency, imagesPerSecond = s.Result.PerSecond, p50 = s.Result.Percentile(50), p95 = s.Result.Percentile(95), p99 = s.Result.Percentile(99), failures = s.Result.Failures, meanBatch = s.Batches.Mean, batches = s.Batches.Distribution(), rssMiB = s.Memory.Rss, peakRssMiB = s.Memory.Peak, cpuMsPerImage = s.Cpu.ServiceMsPerImage, clientCpuMsPerImage = s.Cpu.OwnMsPerImage, cpuIdleShare = s.Cpu.IdleShare }),
            batching,
            stageCpu,
        };
        var path = Path.Combine(settings.OutputDirectory, "macro.json");
        await File.WriteAllTextAsync(path, JsonSerializer.Serialize(report, Json));
        Console.WriteLine($"wrote {Path.GetRelativePath(Repository.Root, path)}");
        return service.Any(s => s.Result.Failures.Count > 0) ? 1 : 0;
    }

    private static string Failures(LevelResult result) =>
        result.Failures.Count == 0 ? "0" : string.Join(' ', result.Failures.Select(f => Invariant($"{f.Key}x{f.Value}")));

    private static string Table(List<LevelResult> bare, List<(LevelResult Result, PrometheusHistogram Batches, (double Rss, double Peak) Memory, CpuUsage Cpu)> service)
    {
        var bestBare = bare.Count > 0 ? bare.Max(b => b.PerSecond) : double.NaN;
        var lines = new List<string>
        {
            "| concurrency | bare img/s | service img/s | service / bare | service / best bare | service p50 ms | p95 ms | p99 ms | mean batch | non-2xx |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        };
        var levels = bare.Select(b => b.Concurrency).Union(service.Select(s => s.Result.Concurrency)).Order();
        foreach (var c in levels)
        {
            var b = bare.Find(x => x.Concurrency == c);
            var s = service.Find(x => x.Result.Concurrency == c);
            var bareRate = b?.PerSecond ?? double.NaN;
            var serviceRate = s.Result?.PerSecond ?? double.NaN;
            lines.Add(Invariant($"| {c} | {bareRate:F1} | {serviceRate:F1} | {serviceRate / bareRate:P0} | {serviceRate / bestBare:P0} | {s.Result?.Percentile(50) ?? double.NaN:F0} | {s.Result?.Percentile(95) ?? double.NaN:F0} | {s.Result?.Percentile(99) ?? double.NaN:F0} | {s.Batches?.Mean ?? double.NaN:F2} | {(s.Result is null ? "-" : Failures(s.Result))} |"));
        }
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>16 faces classified as one batch vs one run each, straight on the classifier (no queue, no detection).</summary>
    private static string MeasureBatching(BenchPipeline pipeline)
    {
        const int Faces = 16;
        const int Repeats = 60;
        var classifier = pipeline.Classifier;
        var length = pipeline.Aligner.CropLength;
        var crops = Scenes.Crops(pipeline.Aligner, Faces);
        var logits = new float[Faces * classifier.Manifest.Labels.Count];
        double Time(Action run)
        {
            run();
            var started = Stopwatch.GetTimestamp();
            for (var r = 0; r < Repeats; r++)
            {
                run();
            }
            return Stopwatch.GetElapsedTime(started).TotalMilliseconds / Repeats;
        }
        var batched = Time(() => classifier.ComputeLogits(crops, Faces, logits));
        var single = Time(() =>
        {
            for (var f = 0; f < Faces; f++)
            {
                classifier.ComputeLogits(crops.AsMemory(f * length, length), 1, logits.AsSpan(f * 7, 7));
            }
        });
        return Invariant($"{Faces} faces as one batch {batched:F2} ms, one by one {single:F2} ms: {single / batched:F1}x faster batched");
    }

    /// <summary>Listens to one of the pipeline's count histograms (batch sizes, detector runs per image) in process.</summary>
    private sealed class CountListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly long[] _counts = new long[1025];

        public CountListener(string instrumentName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ServingMetrics.MeterName && instrument.Name == instrumentName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((_, size, _, _) => Interlocked.Increment(ref _counts[Math.Clamp(size, 0, 1024)]));
            _listener.Start();
        }

        public double Mean
        {
            get
            {
                double sum = 0, count = 0;
                for (var i = 0; i < _counts.Length; i++)
                {
                    sum += (double)i * _counts[i];
                    count += _counts[i];
                }
                return count > 0 ? sum / count : double.NaN;
            }
        }

        public void Reset() => Array.Clear(_counts);

        /// <summary>The same buckets the service exports, so both distributions read alike.</summary>
        public PrometheusHistogram Snapshot()
        {
            var buckets = new SortedDictionary<double, double>();
            double sum = 0, count = 0;
            double[] bounds = [1, 2, 4, 8, 16, 32, 64, 128, double.PositiveInfinity];
            foreach (var bound in bounds)
            {
                buckets[bound] = 0;
            }
            for (var size = 0; size < _counts.Length; size++)
            {
                sum += (double)size * _counts[size];
                count += _counts[size];
                foreach (var bound in bounds)
                {
                    if (size <= bound)
                    {
                        buckets[bound] += _counts[size];
                    }
                }
            }
            return new PrometheusHistogram(buckets, sum, count);
        }

        public void Dispose() => _listener.Dispose();
    }
}

/// <summary>
/// Where the cores' time went during one level: this process's CPU (the bare pipeline, or the HTTP load generator), the
/// service's, and what no one used. On a 2-core machine the load generator shares the service's cores, so its share
/// is part of any service/bare gap.
/// </summary>
internal readonly record struct CpuUsage(double OwnMsPerImage, double ServiceMsPerImage, double IdleShare)
{
    public override string ToString() => double.IsNaN(ServiceMsPerImage)
        ? Invariant($"CPU {OwnMsPerImage:F1} ms/image, idle {IdleShare:P0}")
        : Invariant($"CPU service {ServiceMsPerImage:F1} + client {OwnMsPerImage:F1} ms/image, idle {IdleShare:P0}");
}

internal readonly struct CpuClock
{
    private readonly ServiceProcess? _service;
    private readonly TimeSpan _own;
    private readonly TimeSpan _serviceStart;

    private CpuClock(ServiceProcess? service)
    {
        _service = service;
        _own = Process.GetCurrentProcess().TotalProcessorTime;
        _serviceStart = service?.ProcessorTime() ?? TimeSpan.Zero;
    }

    public static CpuClock Start(ServiceProcess? service) => new(service);

    public CpuUsage Stop(LevelResult level)
    {
        var own = (Process.GetCurrentProcess().TotalProcessorTime - _own).TotalMilliseconds;
        var service = _service is null ? double.NaN : (_service.ProcessorTime() - _serviceStart).TotalMilliseconds;
        var images = Math.Max(1, level.Completed);
        var available = level.Seconds * 1000 * Environment.ProcessorCount;
        var used = own + (double.IsNaN(service) ? 0 : service);
        return new CpuUsage(own / images, service / images, Math.Max(0, 1 - used / available));
    }
}

/// <summary>One bare request's latency and where it went: waiting for an image worker, decode, detection, classification.</summary>
internal sealed record StageTimes(int Faces, double TotalMs, AnalysisTimings Timings)
{
    private double WaitMs => TotalMs - Timings.DecodeMs - Timings.DetectMs - Timings.ClassifyMs;

    /// <summary>
    /// Mean and p50/p99 of each stage, and of the whole request by number of faces: where the time goes and which part
    /// makes the tail. At c=1 a stage's mean is its CPU time per image (each stage runs on one thread, nothing waits).
    /// </summary>
    public static string Summary(IReadOnlyList<StageTimes> all)
    {
        static string Percentiles(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return Invariant($"{LevelResult.Percentile(sorted, 50):F0}/{LevelResult.Percentile(sorted, 99):F0}");
        }
        var byFaces = string.Join(' ', all.GroupBy(s => s.Faces).OrderBy(g => g.Key).Select(g => $"{g.Key}:{Percentiles(g.Select(s => s.TotalMs))}"));
        return Invariant($"mean ms: decode {all.Average(s => s.Timings.DecodeMs):F1}, detect {all.Average(s => s.Timings.DetectMs):F1}, classify {all.Average(s => s.Timings.ClassifyMs):F1}; ")
            + $"p50/p99 ms: worker wait {Percentiles(all.Select(s => s.WaitMs))}, decode {Percentiles(all.Select(s => s.Timings.DecodeMs))}, "
            + $"detect {Percentiles(all.Select(s => s.Timings.DetectMs))}, classify {Percentiles(all.Select(s => s.Timings.ClassifyMs))}; by faces {byFaces}";
    }
}
