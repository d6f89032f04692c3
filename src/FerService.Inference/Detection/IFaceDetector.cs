using FerService.Inference.Imaging;

namespace FerService.Inference.Detection;

internal interface IFaceDetector
{
    int InputSize { get; }

    /// <param name="runs">Model runs it took: the whole view plus any closer looks (the service's metrics count them).</param>
    IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request, out int runs);

    IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request) => Detect(image, request, out _);
}
