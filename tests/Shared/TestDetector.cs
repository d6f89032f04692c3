using FerService.Inference.Detection;
using FerService.Inference.Onnx;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FerService.Tests.Shared;

internal static class TestDetector
{
    /// <summary>The vendored YuNet model with the service's default detection settings, on the CPU.</summary>
    public static YuNetDetector Create() => new(
        new OnnxSessionFactory(Options.Create(new OnnxOptions()), NullLogger<OnnxSessionFactory>.Instance),
        new DetectionOptions { ModelPath = TestPaths.Detector });
}
