using System.Reflection;
using System.Text.RegularExpressions;
using FerService.Api.Hosting;
using FerService.Inference.Detection;
using FerService.Tests.Shared;

namespace FerService.Api.Tests.Hosting;

/// <summary>docs/configuration.md names every setting the options classes have, and nothing else.</summary>
public sealed partial class ConfigurationDocsTests
{
    [GeneratedRegex(@"^\| (`[^|]+`) \|", RegexOptions.Multiline)]
    private static partial Regex KeyCell();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex Quoted();

    private const string RemovedHeading = "## Removed settings";

    /// <summary>The keys named in the first column of the settings table, or of the removed settings' table.</summary>
    private static SortedSet<string> DocumentedKeys(bool removed = false)
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "configuration.md"));
        var split = text.IndexOf(RemovedHeading, StringComparison.Ordinal);
        Assert.True(split > 0, $"docs/configuration.md has no '{RemovedHeading}' section");
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Match row in KeyCell().Matches(removed ? text[split..] : text[..split]))
        {
            // "`Fer:Limits:MaxPixelsPerImage`, `MaxImageSide`": later names share the first one's section.
            var section = "";
            foreach (Match name in Quoted().Matches(row.Groups[1].Value))
            {
                var value = name.Groups[1].Value;
                var colon = value.LastIndexOf(':');
                if (colon >= 0)
                {
                    section = value[..colon];
                }
                keys.Add(colon >= 0 ? value : $"{section}:{value}");
            }
        }
        return keys;
    }

    private static SortedSet<string> OptionKeys()
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var assembly in new[] { typeof(DetectionOptions).Assembly, typeof(FerService.Serving.BatchingOptions).Assembly, typeof(Api.Analysis.LimitsOptions).Assembly })
        {
            foreach (var type in assembly.GetTypes())
            {
                if (type.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) is string section && section.StartsWith("Fer:", StringComparison.Ordinal))
                {
                    foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                    {
                        if (property.SetMethod is { IsPublic: true })
                        {
                            keys.Add($"{section}:{property.Name}");
                        }
                    }
                }
            }
        }
        return keys;
    }

    [Fact]
    public void ConfigurationTable_AgainstTheOptionsClasses_NamesEverySettingAndNoOther()
    {
        var documented = DocumentedKeys();
        var options = OptionKeys();
        Assert.True(options.Count > 30, $"found only {options.Count} settings by reflection");
        Assert.Equal(options, documented);
    }

    /// <summary>Each setting is one more thing an operator must understand; the house keeps them to 40.</summary>
    [Fact]
    public void OptionsClasses_Settings_AtMostForty() => Assert.InRange(OptionKeys().Count, 1, 40);

    [Fact]
    public void RemovedTable_AgainstTheStartUpCheck_NamesTheSameKeysAndNoLiveOne()
    {
        var removed = new SortedSet<string>(RemovedSettings.Replacements.Keys, StringComparer.Ordinal);
        Assert.Equal(removed, DocumentedKeys(removed: true));
        Assert.Empty(removed.Intersect(OptionKeys()));
    }

    [Fact]
    public void Start_RemovedSettingStillSet_RefusedNamingItAndItsReplacement()
    {
        using var factory = new FerApiFactory(("Fer:Onnx:RequireGpu", "true"), ("Fer:Detection:BoxScale", "1.2"));
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient()).ToString();
        Assert.Contains("Fer:Onnx:RequireGpu was removed (Fer:Onnx:ExecutionProvider=Cuda", error, StringComparison.Ordinal);
        Assert.Contains("Fer:Detection:BoxScale was removed", error, StringComparison.Ordinal);
    }
}
