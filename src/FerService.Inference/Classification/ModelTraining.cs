namespace FerService.Inference.Classification;

internal sealed record ModelTraining
{
    public string? Data { get; init; }
    public string? Command { get; init; }
    public int Seed { get; init; }
    public int Epochs { get; init; }
    public double WallTimeSeconds { get; init; }
    public long Parameters { get; init; }
    public string? Framework { get; init; }
    public IReadOnlyDictionary<string, string>? Recipe { get; init; }
    public IReadOnlyList<EpochLog>? Log { get; init; }
}
