using System.Reflection;

namespace FerService.Api.Hosting;

/// <summary>
/// Runs the host so that a start-up failure (a model missing, corrupt or of the wrong shape, an invalid setting) ends the
/// process as an operator expects: one fatal log line saying why, exit code 1, no stack trace.
/// </summary>
public static partial class StartupExtensions
{
    /// <summary>
    /// Builds the request pipeline with <paramref name="pipeline"/> (its middleware and endpoints resolve the models and
    /// options, so most start-up failures surface there) and runs until shutdown: 0 after a clean stop, 1 when start-up
    /// failed or the warm-up set a failing exit code. A host that called the entry point itself (WebApplicationFactory in
    /// the tests) gets the exception instead, as it expects.
    /// </summary>
    public static async Task<int> RunFerAsync(this WebApplication app, Action<WebApplication> pipeline)
    {
        try
        {
            pipeline(app);
            await app.RunAsync();
            return Environment.ExitCode;
        }
        catch (Exception e) when (e is not OperationCanceledException && Assembly.GetEntryAssembly() == typeof(StartupExtensions).Assembly)
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StartupExtensions));
            var reason = Reason(e);
            LogStartFailed(logger, reason);
            return 1;
        }
    }

    /// <summary>The messages of an exception and its causes, outermost first, each once (wrappers that only repeat them are skipped).</summary>
    internal static string Reason(Exception error)
    {
        var messages = new List<string>();
        var pending = new Stack<Exception>([error]);
        while (pending.TryPop(out var current))
        {
            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.Reverse())
                {
                    pending.Push(inner);
                }
                continue;
            }
            if (!messages.Exists(m => m.Contains(current.Message, StringComparison.Ordinal)))
            {
                messages.Add(current.Message);
            }
            if (current.InnerException is { } cause)
            {
                pending.Push(cause);
            }
        }
        return string.Join(" ", messages).ReplaceLineEndings(" ");
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "Start-up failed, exiting with code 1: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string reason);
}
