using FerService.Fuzz;
using FerService.Tests.Shared;

namespace FerService.Inference.Tests.Imaging;

public sealed class FuzzSmokeTests
{
    /// <summary>The bounded CI smoke of the fuzz target: seeds of every format, bit flips and truncations, once each.</summary>
    [Fact]
    public void FuzzTarget_SeedsWithFlipsAndTruncations_NothingButDecodeRejections()
    {
        using var target = new DecodeDetectTarget(TestPaths.Detector);
        using var output = new StringWriter();
        var code = target.Smoke(Path.Combine(TestPaths.RepositoryRoot, "tests", "FerService.Fuzz", "findings"), output);
        Assert.True(code == 0, output.ToString());
        Assert.Contains("0 unexpected exceptions", output.ToString(), StringComparison.Ordinal);
    }
}
