namespace FerService.Api.Health;

public sealed record HealthResponse(string Status, IReadOnlyDictionary<string, HealthEntry> Checks);

public sealed record HealthEntry(string Status, string? Description, IReadOnlyDictionary<string, object> Data);
