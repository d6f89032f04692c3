using FerService.Tests.Shared;
using FerService.Api.Tests.Hosting;

namespace FerService.Api.Tests.Health;

/// <summary>The service refuses to start, with a message saying why, on a bad model or option.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-startup-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    private static Exception StartFails(params (string, string)[] settings)
    {
        using var factory = new FerApiFactory(settings);
        return Assert.ThrowsAny<Exception>(() => factory.CreateClient());
    }

    private static string AllMessages(Exception e)
    {
        var messages = new List<string>();
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            messages.Add(current.Message);
            if (current is AggregateException aggregate)
            {
                messages.AddRange(aggregate.InnerExceptions.Select(inner => inner.Message));
            }
        }
        return string.Join(" | ", messages);
    }

    [Fact]
    public void Start_ModelNotMatchingCardSha256_Refused()
    {
        var error = StartFails(("Fer:Models:ClassifierManifest", CorruptClassifier()));
        Assert.Contains("sha256", AllMessages(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Start_MissingDetectorModel_RefusedNamingTheFile()
    {
        var missing = Path.Combine(_directory, "no-detector.onnx");
        var error = StartFails(("Fer:Detection:ModelPath", missing));
        Assert.Contains("no-detector.onnx", AllMessages(error), StringComparison.Ordinal);
    }

    [Fact]
    public void Start_CorruptClassifierCard_Refused()
    {
        var card = Path.Combine(_directory, "emotion-fer2013.json");
        File.WriteAllText(card, "{ not json");
        var error = StartFails(("Fer:Models:ClassifierManifest", card));
        Assert.Contains("emotion-fer2013.json", AllMessages(error), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Fer:Batching:MaxBatchSize", "0")]
    [InlineData("Fer:Detection:MinScore", "1.5")]
    [InlineData("Fer:Limits:MaxImagesPerRequest", "0")]
    public void Start_InvalidOption_RefusedWithValidationError(string key, string value)
    {
        var error = StartFails((key, value));
        Assert.Contains(key.Split(':')[^1], AllMessages(error), StringComparison.Ordinal);
    }

    /// <summary>
    /// The service process itself, as an operator starts it: in-process test hosts that fail at start-up sometimes surfaced
    /// an ObjectDisposedException from the test server instead of the cause when many ran in parallel.
    /// </summary>
    [Fact]
    public async Task Start_CudaOnTheCpuBuild_ProcessExitsSayingWhy()
    {
        using var service = ShutdownTests.StartService(new(), "--Fer:Onnx:ExecutionProvider=Cuda");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // Returns once the process has exited and its redirected output has been read to the end.
        await service.Process.WaitForExitAsync(timeout.Token);

        Assert.NotEqual(0, service.Process.ExitCode);
        Assert.Contains("CUDA was asked for", service.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The service process with a classifier whose bytes do not match its card: it was an unhandled exception (exit code
    /// 134 and a stack trace); an operator gets one fatal log line saying why and exit code 1.
    /// </summary>
    [Fact]
    public async Task Start_CorruptClassifierInTheServiceProcess_OneFatalLineAndExitCode1()
    {
        var card = CorruptClassifier();
        using var service = ShutdownTests.StartService(new(), $"--Fer:Models:ClassifierManifest={card}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await service.Process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, service.Process.ExitCode);
        var lines = service.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var fatal = Assert.Single(lines, line => line.Contains(" FTL]", StringComparison.Ordinal));
        Assert.Contains("sha256", fatal, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain("Unhandled exception", service.Output, StringComparison.Ordinal);
    }

    /// <summary>A copy of the float32 classifier and its card in this test's folder, the model's last byte flipped; the card's path.</summary>
    private string CorruptClassifier()
    {
        var card = Path.Combine(_directory, "emotion-fer2013.json");
        File.Copy(TestPaths.ClassifierManifest, card);
        var model = File.ReadAllBytes(Path.Combine(TestPaths.Models, "emotion-fer2013.onnx"));
        model[^1] ^= 0xFF;
        File.WriteAllBytes(Path.Combine(_directory, "emotion-fer2013.onnx"), model);
        return card;
    }

    [Fact]
    public async Task Start_AutoOnTheCpuBuild_FallsBackToCpuAndReportsIt()
    {
        using var factory = new FerApiFactory(("Fer:Onnx:ExecutionProvider", "Auto"));
        var client = factory.CreateClient();
        var body = await (await Http.WaitReadyAsync(client)).JsonAsync();
        Assert.Equal("CPU", body.GetProperty("checks").GetProperty("models").GetProperty("data").GetProperty("executionProvider").GetString());
        Assert.Matches(@"(?m)^fer_execution_provider\{[^}]*provider=""CPU""", await client.GetStringAsync("/metrics"));
    }
}
