namespace FerService.Api.Uploads;

/// <summary>Thrown when an upload buffer would grow past the <see cref="UploadBudget"/>.</summary>
public sealed class UploadBudgetExceededException : Exception
{
    public UploadBudgetExceededException()
        : base("The upload memory budget is spent.")
    {
    }

    public UploadBudgetExceededException(string message)
        : base(message)
    {
    }

    public UploadBudgetExceededException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
