namespace FerService.Training.Tests;

/// <summary>
/// Test classes that train or build nets with TorchSharp: its random generator and thread count are process-wide, so
/// two of them at once would reseed each other's draws mid-run. xunit runs the classes of one collection one at a time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchTests
{
    public const string Name = "TorchSharp's process-wide state";
}
