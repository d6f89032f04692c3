using System.Text.Json;
using FerService.Tests.Shared;
using FerService.Api.Tests.Hosting;

namespace FerService.Api.Tests;

/// <summary>What ships with the service names its licences: ours, the detector's and every package's.</summary>
public sealed class NoticeTests
{
    private static readonly string Output = Path.GetDirectoryName(ShutdownTests.ServiceDll())!;

    [Theory]
    [InlineData("LICENSE")]
    [InlineData("THIRD-PARTY-NOTICES")]
    [InlineData("models/YUNET-LICENSE.txt")]
    public void ServiceOutput_AsBuilt_CarriesLicenceFile(string file)
    {
        Assert.True(File.Exists(Path.Combine(Output, file)), $"{file} is not in the service's output {Output}");
    }

    [Fact]
    public void ThirdPartyNotices_EveryPackageTheServiceShips_Listed()
    {
        var notices = File.ReadAllText(Path.Combine(TestPaths.RepositoryRoot, "THIRD-PARTY-NOTICES"));
        using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(Output, "FerService.Api.deps.json")));
        var packages = deps.RootElement.GetProperty("libraries").EnumerateObject()
            .Where(library => library.Value.GetProperty("type").GetString() == "package")
            .Select(library => library.Name.Split('/')[0])
            .ToList();
        Assert.NotEmpty(packages);
        Assert.All(packages, package => Assert.Contains($"`{package}`", notices, StringComparison.Ordinal));
    }
}
