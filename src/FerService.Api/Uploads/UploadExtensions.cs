using FerService.Api.Errors;
using FerService.Api.Hosting;
using FerService.Api.Analysis;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace FerService.Api.Uploads;

/// <summary>
/// Image uploads are read in full, within their own limits and deadline, before the request competes for the
/// concurrency limit: a slow client holds a connection and its buffered bytes, never a pipeline slot.
/// </summary>
public static partial class UploadExtensions
{
    /// <summary>Marks an endpoint whose body the upload middleware reads before admission.</summary>
    private sealed class ReadsUploadsMetadata;

    public static IHostApplicationBuilder AddFerUploads(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new UploadBudget(sp.GetRequiredService<IOptions<LimitsOptions>>().Value.BufferedUploadBytes));
        return builder;
    }

    /// <summary>Before <c>UseFerBackpressure</c>: reads the uploads of marked endpoints; a body that fails gets its problem here.</summary>
    public static WebApplication UseFerUploads(this WebApplication app)
    {
        var limits = app.Services.GetRequiredService<IOptions<LimitsOptions>>().Value;
        var budget = app.Services.GetRequiredService<UploadBudget>();
        var shedding = app.Services.GetRequiredService<LoadShedding>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UploadExtensions));
        var budgetMiB = budget.Capacity / 1048576.0;
        LogBudget(logger, budgetMiB);
        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<ReadsUploadsMetadata>() is null)
            {
                await next(context);
                return;
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            deadline.CancelAfter(limits.RequestTimeout);
            using var uploads = await UploadReader.ReadAsync(context.Request, limits, budget, deadline.Token);
            if (uploads.Error is { } error)
            {
                if (error.Status == StatusCodes.Status503ServiceUnavailable)
                {
                    context.Response.Headers.RetryAfter = "1";
                    shedding.Refused("the upload memory budget was spent");
                }
                await Problems.Result(error).ExecuteAsync(context);
                return;
            }
            context.Features.Set(uploads);
            await next(context);
        });
        return app;
    }

    /// <summary>The endpoint takes its images as a <see cref="BufferedUploads"/> parameter; they are read before admission.</summary>
    public static RouteHandlerBuilder ReadsUploadsFirst(this RouteHandlerBuilder endpoint) => endpoint.WithMetadata(new ReadsUploadsMetadata());

    [LoggerMessage(Level = LogLevel.Information, Message = "Upload memory budget: {BudgetMiB:F0} MiB buffered at once across all requests")]
    private static partial void LogBudget(ILogger logger, double budgetMiB);
}
