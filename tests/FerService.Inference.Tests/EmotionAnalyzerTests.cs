using System.Diagnostics;
using System.Globalization;
using System.Text;
using FerService.Inference.Detection;
using FerService.Inference.Imaging;
using FerService.Inference.Pipeline;
using FerService.Tests.Shared;
using FerService.Serving;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace FerService.Inference.Tests;

/// <summary>
/// The library's front door with its default models (copied beside the test binaries as into any app that references the
/// library), on FER2013 PublicTest faces pasted into scenes: it must answer as the service's pipeline does.
/// </summary>
public sealed class EmotionAnalyzerTests(ITestOutputHelper output)
{
    private static readonly Lazy<EmotionAnalyzer> Shared = new(() => EmotionAnalyzer.Create());

    private static Scene[] Scenes(int count, int seed)
    {
        var random = new Random(seed);
        var rows = PublicTest.Rows;
        var scenes = new Scene[count];
        for (var s = 0; s < count; s++)
        {
            scenes[s] = SceneBuilder.Build(rows, [random.Next(rows.Count), random.Next(rows.Count)], random, minSide: 90, maxSide: 180,
                format: SkiaSharp.SKEncodedImageFormat.Jpeg);
        }
        return scenes;
    }

    [Fer2013Fact]
    public async Task Analyze_ScenesOfPublicTestFaces_FindsTheFacesAndAnswersAsThePipeline()
    {
        var analyzer = Shared.Value;
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        services.AddEmotionPipeline();
        await using var provider = services.BuildServiceProvider();
        var pipeline = provider.GetRequiredService<EmotionPipeline>();

        var (faces, found) = (0, 0);
        foreach (var scene in Scenes(12, 7))
        {
            var result = analyzer.Analyze(scene.Encoded);
            var served = await pipeline.AnalyzeAsync(scene.Encoded, analyzer.DefaultRequest, CancellationToken.None);
            Assert.Equal((scene.Width, scene.Height), (result.Width, result.Height));
            Assert.Equal(served.Faces.Count, result.Faces.Count);
            for (var f = 0; f < result.Faces.Count; f++)
            {
                var (mine, theirs) = (result.Faces[f], served.Faces[f]);
                Assert.Equal(theirs.Box, mine.Box);
                var labels = analyzer.Model.Labels;
                for (var c = 0; c < labels.Count; c++)
                {
                    Assert.Equal(theirs.ClassProbabilities.Span[c], mine.Probabilities[labels[c]], 4);
                }
                Assert.Equal(mine.Probabilities.MaxBy(p => p.Value).Key, mine.Emotion);
                Assert.Equal(analyzer.Model.IsUncertain(theirs.ClassProbabilities.Span), mine.Uncertain);
                Assert.Equal(theirs.Emotion, mine.Emotion);
            }
            foreach (var (_, truth) in scene.Faces)
            {
                faces++;
                found += result.Faces.Any(face => BoxF.IntersectionOverUnion(truth, face.Box) >= 0.4) ? 1 : 0;
            }
        }
        output.WriteLine($"found {found} of {faces} faces");
        Assert.True(found >= faces * 0.9, $"found only {found} of {faces} faces");
    }

    [Fer2013Fact]
    public async Task AnalyzeAsync_SameImage_SameAnswerAsAnalyze()
    {
        var scene = Scenes(1, 3)[0];
        var analyzer = Shared.Value;
        var expected = analyzer.Analyze(scene.Encoded);
        var actual = await analyzer.AnalyzeAsync(scene.Encoded);
        Assert.NotEmpty(actual.Faces);
        Assert.Equal(expected.Faces.Select(f => (f.Box, f.Emotion, f.Confidence)), actual.Faces.Select(f => (f.Box, f.Emotion, f.Confidence)));
    }

    [Fact]
    public void Analyze_NotAnImage_ThrowsImageDecodeException() =>
        Assert.Throws<ImageDecodeException>(() => Shared.Value.Analyze("not an image"u8));

    [Fact]
    public void Create_MissingClassifierCard_ThrowsFileNotFoundNamingIt()
    {
        var error = Assert.Throws<FileNotFoundException>(() => EmotionAnalyzer.Create(new EmotionAnalyzerOptions { ClassifierManifest = "models/no-such-card.json" }));
        Assert.Contains("no-such-card.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RelativeModelPaths_LeavesTheCallersOptionsAsWritten()
    {
        var options = new EmotionAnalyzerOptions();
        var written = options.Detection.ModelPath;
        using var analyzer = EmotionAnalyzer.Create(options);
        Assert.False(Path.IsPathRooted(written));
        Assert.Equal(written, options.Detection.ModelPath);
    }

    /// <summary>
    /// `dotnet pack`, then a console app outside the repository that references the package and nothing else analyses a
    /// photo in three lines: the package must bring its models and native libraries, and answer as the library does here.
    /// </summary>
    [Fer2013Fact]
    public void Pack_ConsumerProjectOutsideTheRepository_AnalysesAPhotoWithTheShippedModels()
    {
        var scene = Scenes(1, 5)[0];
        var work = Directory.CreateTempSubdirectory("fer-consumer-");
        // A version of its own, so the NuGet cache can never hand back an older build of the package.
        var version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        try
        {
            var feed = Path.Combine(work.FullName, "feed");
            Run("dotnet", $"pack \"{Path.Combine(TestPaths.RepositoryRoot, "src", "FerService.Inference")}\" -c Release -o \"{feed}\" -p:Version={version}", TestPaths.RepositoryRoot);
            var app = Directory.CreateDirectory(Path.Combine(work.FullName, "app")).FullName;
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="ferservice-local" value="{feed}" />
                  </packageSources>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="FerService.Inference" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), """
                using FerService.Inference;

                using var analyzer = EmotionAnalyzer.Create();
                var result = analyzer.Analyze(File.ReadAllBytes(args[0]));
                foreach (var face in result.Faces)
                {
                    Console.WriteLine(FormattableString.Invariant($"{face.Box.X:F1} {face.Box.Y:F1} {face.Box.Width:F1} {face.Emotion} {face.Confidence:F3}"));
                }
                """);
            var photo = Path.Combine(work.FullName, "photo.jpg");
            File.WriteAllBytes(photo, scene.Encoded);
            var printed = Run("dotnet", $"run -c Release -- \"{photo}\"", app);

            var expected = new StringBuilder();
            foreach (var face in Shared.Value.Analyze(scene.Encoded).Faces)
            {
                expected.AppendLine(FormattableString.Invariant($"{face.Box.X:F1} {face.Box.Y:F1} {face.Box.Width:F1} {face.Emotion} {face.Confidence:F3}"));
            }
            output.WriteLine(printed);
            Assert.NotEqual("", expected.ToString());
            Assert.Equal(expected.ToString().TrimEnd(), printed.TrimEnd());
        }
        finally
        {
            work.Delete(recursive: true);
            var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages ? packages
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "ferservice.inference", version);
            if (Directory.Exists(cached))
            {
                Directory.Delete(cached, recursive: true);
            }
        }
    }

    /// <summary>Runs a command to completion; its standard output, or a failure with both streams.</summary>
    private static string Run(string fileName, string arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The test host's own MSBuild settings must not leak into the child builds.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var standard = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {arguments} did not finish in 10 minutes.");
        }
        Assert.True(process.ExitCode == 0, $"{fileName} {arguments} exited with {process.ExitCode}:\n{standard}\n{error.Result}");
        return standard;
    }
}
