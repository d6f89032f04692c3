using FerService.Inference.Imaging;

namespace FerService.Inference.Detection;

internal interface IFaceDetector
{
    /// <param name="runs">Model runs it took (the service's metrics count them).</param>
    IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request, out int runs);

    IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request) => Detect(image, request, out _);
}
