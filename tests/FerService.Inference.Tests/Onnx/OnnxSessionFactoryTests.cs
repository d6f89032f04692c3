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

    private static (OnnxSessionFactory Factory, RecordingLogger Log) Factory(ExecutionProvider provider)
    {
        var log = new RecordingLogger();
        return (new OnnxSessionFactory(Options.Create(new OnnxOptions { ExecutionProvider = provider }), log), log);
    }

    [Theory]
    [InlineData(ExecutionProvider.Cpu)]
    [InlineData(ExecutionProvider.Auto)]
    public void Create_CpuOrAutoWithoutCuda_RunsOnCpu(ExecutionProvider provider)
    {
        var (factory, log) = Factory(provider);
        using var session = factory.Create(File.ReadAllBytes(TestPaths.Detector), "detector");
        Assert.Equal("CPU", factory.ActiveProvider);
        Assert.Equal(provider == ExecutionProvider.Auto ? [LogLevel.Information] : [], log.Levels);
    }

    [Fact]
    public void Create_CudaWithoutCuda_RefusesWithTheReason()
    {
        var (factory, _) = Factory(ExecutionProvider.Cuda);
        var error = Assert.Throws<InvalidOperationException>(() => factory.Create(File.ReadAllBytes(TestPaths.Detector), "detector"));
        Assert.Contains("CUDA was asked for", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 4)]
    [InlineData(3, 8)]
    public void CoreCount_ZeroOrAValue_MultipleOfTheCoresOrTheValue(int configured, int perCore) =>
        Assert.Equal(configured > 0 ? configured : perCore * Environment.ProcessorCount, CoreCount.OrMultiple(configured, perCore));
}
