using System.Text.RegularExpressions;
using FerService.Tests.Shared;

namespace FerService.Api.Tests.Hosting;

/// <summary>What the service process prints when it starts as a user starts it: the environment it runs in, no native noise.</summary>
public sealed class StartLogTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task DotnetRun_AsTheReadmeRunsIt_HostingEnvironmentIsProduction()
    {
        using var service = ServiceProcess.Run(Path.Combine("src", "FerService.Api"), ShutdownTests.BuildConfiguration, TestPaths.RepositoryRoot, [],
            ShutdownTests.WithRepositoryModels(new()));
        await service.WaitReadyAsync(StartTimeout);

        var environment = Regex.Match(service.Output, @"Hosting environment: (\w+)");
        Assert.True(environment.Success, service.Output);
        Assert.Equal("Production", environment.Groups[1].Value);
    }

    [Fact]
    public async Task Start_DetectorAndClassifierSessions_NoOnnxRuntimeWarnings()
    {
        using var service = ShutdownTests.StartService(new());
        await service.WaitReadyAsync(StartTimeout);

        // ONNX Runtime's own log lines look like "[W:onnxruntime:, graph.cc:4713 CleanUnusedInitializersAndNodeArgs] Removing …".
        Assert.DoesNotContain("CleanUnusedInitializersAndNodeArgs", service.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("[W:onnxruntime", service.Output, StringComparison.Ordinal);
    }
}
