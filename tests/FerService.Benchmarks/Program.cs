using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FerService.Benchmarks;

// macro [options]: bare pipeline vs the service over HTTP (see MacroSettings.Parse); micro [BenchmarkDotNet args]: per-stage costs.
if (args.Length > 0 && args[0] == "micro")
{
    var config = ManualConfig.CreateEmpty()
        .AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray())
        .AddLogger(DefaultConfig.Instance.GetLoggers().ToArray())
        .AddExporter(MarkdownExporter.GitHub)
        .AddDiagnoser(MemoryDiagnoser.Default)
        // In process: no generated project to build; short, bounded runs.
        .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(8))
        .WithArtifactsPath(Path.Combine(Repository.Root, "artifacts", "benchmarks", "micro"));
    var micro = args.Length > 1 ? args[1..] : ["--filter", "*"];
    BenchmarkSwitcher.FromAssembly(typeof(PipelineBenchmarkBase).Assembly).Run(micro, config);
    return 0;
}
return await MacroBenchmark.RunAsync(MacroSettings.Parse(args.Length > 0 && args[0] == "macro" ? args[1..] : args));
