using FerService.Evaluation;

namespace FerService.Tests.Shared;

/// <summary>Locates the repository, its models and the FER2013 data the tests read (never committed).</summary>
internal static class TestPaths
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Models => Path.Combine(RepositoryRoot, "models");

    /// <summary>The float model's card: the trained model the accuracy figures are about.</summary>
    public static string ClassifierManifest => Path.Combine(Models, "emotion-fer2013.json");

    /// <summary>The card the service loads by default (the int8 twin).</summary>
    public static string ServiceClassifierManifest => Path.Combine(Models, Path.GetFileName(new FerService.Inference.Pipeline.FerModelOptions().ClassifierManifest));

    /// <summary>The face detector the service loads by default.</summary>
    public static string Detector => Path.Combine(Models, Path.GetFileName(new FerService.Inference.Detection.DetectionOptions().ModelPath));

    /// <summary>FER2013 as a user or CI puts it under data/ (CI links the shared copy to data/fer2013/), or FER_DATA.</summary>
    public static string? Fer2013 { get; } = Environment.GetEnvironmentVariable("FER_DATA") is { Length: > 0 } path && File.Exists(path)
        ? path
        : Fer2013Reader.FindDefault(RepositoryRoot);

    /// <summary>The labelled real photos (labels.json, images/) in data/realfaces/, as CI links them; null when absent.</summary>
    public static string? RealFaces { get; } = Directory.Exists(Path.Combine(RepositoryRoot, "data", "realfaces", "images"))
        ? Path.Combine(RepositoryRoot, "data", "realfaces")
        : null;

    public const string MissingPhotosMessage = "The labelled real photos are not in data/realfaces/ (link the shared copy there: labels.json and images/).";

    public const string MissingDataMessage = "FER2013 is not in data/ (put fer2013.csv[.gz] there, link the shared copy to data/fer2013/, or set FER_DATA).";

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "FerService.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Tests must run inside the repository (FerService.sln not found above the test binaries).");
    }
}

/// <summary>A fact that needs FER2013; it is skipped with a clear message when the data is absent.</summary>
internal sealed class Fer2013FactAttribute : FactAttribute
{
    public Fer2013FactAttribute()
    {
        if (TestPaths.Fer2013 is null)
        {
            Skip = TestPaths.MissingDataMessage;
        }
    }
}

/// <summary>A fact that needs the labelled real photos; it is skipped with a clear message when they are absent.</summary>
internal sealed class RealFacesFactAttribute : FactAttribute
{
    public RealFacesFactAttribute()
    {
        if (TestPaths.RealFaces is null)
        {
            Skip = TestPaths.MissingPhotosMessage;
        }
    }
}

/// <summary>A theory that needs the labelled real photos; skipped with a clear message when they are absent.</summary>
internal sealed class RealFacesTheoryAttribute : TheoryAttribute
{
    public RealFacesTheoryAttribute()
    {
        if (TestPaths.RealFaces is null)
        {
            Skip = TestPaths.MissingPhotosMessage;
        }
    }
}

/// <summary>PublicTest rows, read once per test run.</summary>
internal static class PublicTest
{
    private static readonly Lazy<Fer2013Split> Split = new(() =>
        Fer2013Reader.Read(TestPaths.Fer2013 ?? throw new InvalidOperationException(TestPaths.MissingDataMessage), ["PublicTest"])["PublicTest"]);

    public static Fer2013Split Rows => Split.Value;
}
