using System.Reflection;
using System.Text.RegularExpressions;
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

    private static SortedSet<string> DocumentedKeys()
    {
        var keys = new SortedSet<string>(StringComparer.Ordinal);
        foreach (Match row in KeyCell().Matches(File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "docs", "configuration.md"))))
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
}
