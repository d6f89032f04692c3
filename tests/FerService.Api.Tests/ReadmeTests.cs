using System.Net;
using System.Text.Json;
using FerService.Tests.Shared;

namespace FerService.Api.Tests;

/// <summary>The README's one request and response stay true to the service.</summary>
public sealed class ReadmeTests(FerApiFactory factory) : IClassFixture<FerApiFactory>
{
    private static JsonElement ReadmeExampleResponse()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "README.md"));
        var start = readme.IndexOf("```json", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no ```json example");
        start = readme.IndexOf('\n', start) + 1;
        var end = readme.IndexOf("```", start, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(readme[start..end]);
        return document.RootElement.Clone();
    }

    /// <summary>Every property path, arrays entered through their first element: the shape a client codes against.</summary>
    private static SortedSet<string> Paths(JsonElement element, string prefix = "")
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    paths.Add(prefix + property.Name);
                    paths.UnionWith(Paths(property.Value, prefix + property.Name + "."));
                }
                break;
            case JsonValueKind.Array when element.GetArrayLength() > 0 && element[0].ValueKind is JsonValueKind.Object or JsonValueKind.Array:
                paths.UnionWith(Paths(element[0], prefix + "[]."));
                break;
        }
        return paths;
    }

    [Fer2013Fact]
    public async Task ReadmeExample_AgainstAScene_SameShapeAndModelAsTheService()
    {
        var example = ReadmeExampleResponse();
        var scene = SceneBuilder.Build(PublicTest.Rows, [10], new Random(6));
        using var content = Http.Multipart(("images", "scene.png", scene.Encoded, "image/png"));

        var response = await factory.CreateClient().PostAsync("/api/emotions", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var actual = await response.JsonAsync();
        Assert.Equal(1, actual.GetProperty("images")[0].GetProperty("faces").GetArrayLength());
        Assert.Equal(Paths(example), Paths(actual));
        foreach (var field in new[] { "name", "version" })
        {
            Assert.Equal(example.GetProperty("model").GetProperty(field).GetString(), actual.GetProperty("model").GetProperty(field).GetString());
        }
        Assert.Equal(example.GetProperty("model").GetProperty("labels").ToString(), actual.GetProperty("model").GetProperty("labels").ToString());
    }

    [Fact]
    public void Readme_Size_StaysAFrontDoor()
    {
        Assert.InRange(new FileInfo(Path.Combine(TestPaths.RepositoryRoot, "README.md")).Length, 1, 12 * 1024);
    }
}
