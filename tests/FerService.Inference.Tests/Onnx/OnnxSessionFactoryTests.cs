using FerService.Inference.Onnx;
using FerService.Tests.Shared;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FerService.Inference.Tests.Onnx;

/// <summary>The execution-provider choices on this CPU-only build: CUDA cannot be had, so what each choice does about it shows.</summary>
public sealed class OnnxSessionFactoryTests
{
    private sealed class RecordingLogger : ILogger<OnnxSessionFactory>
    {
        public List<LogLevel> Levels { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Levels.Add(logLevel);
    }

    private static (OnnxSessionFactory Factory, RecordingLogger Log) Factory(ExecutionProvider provider, bool requireGpu = false)
    {
        var log = new RecordingLogger();
        return (new OnnxSessionFactory(Options.Create(new OnnxOptions { ExecutionProvider = provider, RequireGpu = requireGpu }), log), log);
    }

    [Theory]
    [InlineData(ExecutionProvider.Cuda, LogLevel.Warning)]
    [InlineData(ExecutionProvider.Auto, LogLevel.Information)]
    public void Create_NoCudaInThisBuild_RunsOnCpuAndSaysSoAtTheChoicesLevel(ExecutionProvider provider, LogLevel expected)
    {
        var (factory, log) = Factory(provider);
        using var session = factory.Create(File.ReadAllBytes(TestPaths.Detector), "detector");
        Assert.Equal("CPU", factory.ActiveProvider);
        Assert.Equal([expected], log.Levels);
    }

    [Fact]
    public void Create_RequireGpuWithAuto_StillRunsOnCpu()
    {
        var (factory, _) = Factory(ExecutionProvider.Auto, requireGpu: true);
        using var session = factory.Create(File.ReadAllBytes(TestPaths.Detector), "detector");
        Assert.Equal("CPU", factory.ActiveProvider);
    }

    [Fact]
    public void Create_RequireGpuWithCuda_RefusesWithTheReason()
    {
        var (factory, _) = Factory(ExecutionProvider.Cuda, requireGpu: true);
        var error = Assert.Throws<InvalidOperationException>(() => factory.Create(File.ReadAllBytes(TestPaths.Detector), "detector"));
        Assert.Contains("CUDA was required", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 4)]
    [InlineData(3, 8)]
    public void CoreCount_ZeroOrAValue_MultipleOfTheCoresOrTheValue(int configured, int perCore) =>
        Assert.Equal(configured > 0 ? configured : perCore * Environment.ProcessorCount, CoreCount.OrMultiple(configured, perCore));
}
