using System.Diagnostics;
using System.Net;
using FerService.Tests.Shared;

namespace FerService.Api.Tests.Hosting;

/// <summary>The built service as its own process: SIGTERM while requests are in flight.</summary>
public sealed class ShutdownTests
{
    /// <summary>The built service as its own process on a free loopback port, pointed at the repository's models.</summary>
    internal static ServiceProcess StartService(Dictionary<string, string> environment, params string[] arguments) =>
        ServiceProcess.Start(ServiceDll(), arguments, WithRepositoryModels(environment));

    /// <summary>The service pointed at the repository's models, wherever its content root is.</summary>
    internal static Dictionary<string, string> WithRepositoryModels(Dictionary<string, string> environment)
    {
        environment["Fer__Models__ClassifierManifest"] = TestPaths.ClassifierManifest;
        environment["Fer__Detection__ModelPath"] = TestPaths.Detector;
        return environment;
    }

    // The test binaries sit in tests/<project>/bin/<configuration>/<framework>/; the service's in src/FerService.Api/bin/... alike.
    private static DirectoryInfo TestFramework => new(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));

    /// <summary>Debug or Release: the configuration these tests, and so the service beside them, were built in.</summary>
    internal static string BuildConfiguration => TestFramework.Parent!.Name;

    internal static string ServiceDll()
    {
        var path = Path.Combine(TestPaths.RepositoryRoot, "src", "FerService.Api", "bin", BuildConfiguration, TestFramework.Name, "FerService.Api.dll");
        Assert.True(File.Exists(path), $"{path} is not built");
        return path;
    }

    [Fact]
    public async Task Sigterm_WithEightRequestsInFlight_AllCompleteNewOnesRefusedExitCodeZero()
    {
        using var running = StartService(new()
        {
            ["Fer__Limits__ShutdownTimeout"] = "00:00:30",
            ["DOTNET_ENVIRONMENT"] = "Production",
        });
        var service = running.Process;
        using var client = new HttpClient { BaseAddress = running.Address, Timeout = TimeSpan.FromSeconds(120) };
        Assert.Equal(HttpStatusCode.OK, (await Http.WaitReadyAsync(client)).StatusCode);

        // Each request holds its body half sent, so all eight are in flight when the signal comes, however fast the pipeline is.
        var inFlight = new List<HalfSentUpload>();
        for (var i = 0; i < 8; i++)
        {
            inFlight.Add(await HalfSentUpload.StartAsync(client.BaseAddress, Http.Multipart(("image", "face.png", Http.NoisyPng(320, 240, i), "image/png"))));
        }
        await Task.Delay(700);

        using (var kill = Process.Start("kill", ["-TERM", service.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }
        await Task.Delay(300);

        // New work is refused: the listener is closed (or, if a connection slips in, readiness says 503).
        using var fresh = new HttpClient { BaseAddress = client.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            var ready = await fresh.GetAsync("/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }
        catch (HttpRequestException)
        {
        }

        foreach (var upload in inFlight)
        {
            await upload.FinishAsync();
        }
        foreach (var upload in inFlight)
        {
            Assert.StartsWith("HTTP/1.1 200", await upload.ReadStatusLineAsync(), StringComparison.Ordinal);
            upload.Dispose();
        }

        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        await service.WaitForExitAsync(exit.Token);
        Assert.Equal(0, service.ExitCode);
    }

    [Fact]
    public async Task Sigterm_WithAnOpenStream_StreamGetsGoingAwayCloseAtOnce()
    {
        using var running = StartService(new()
        {
            ["Fer__Limits__ShutdownTimeout"] = "00:00:30",
            ["DOTNET_ENVIRONMENT"] = "Production",
        });
        using var client = new HttpClient { BaseAddress = running.Address, Timeout = TimeSpan.FromSeconds(60) };
        Assert.Equal(HttpStatusCode.OK, (await Http.WaitReadyAsync(client)).StatusCode);
        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{running.Address.Authority}/api/emotions/stream"), CancellationToken.None);

        using (var kill = Process.Start("kill", ["-TERM", running.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        // Well before the 30 s shutdown timeout: a close frame, not a reset when the host gives up.
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = await socket.ReceiveAsync(new byte[1024], wait.Token);
        Assert.Equal(System.Net.WebSockets.WebSocketMessageType.Close, received.MessageType);
        Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, socket.CloseStatus);
        await socket.CloseOutputAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
        using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await running.Process.WaitForExitAsync(exit.Token);
        Assert.Equal(0, running.Process.ExitCode);
    }
}
