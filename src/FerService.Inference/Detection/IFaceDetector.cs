using FerService.Inference.Imaging;

namespace FerService.Inference.Detection;

public interface IFaceDetector
{
    int InputSize { get; }
    IReadOnlyList<DetectedFace> Detect(RgbaImage image, DetectionRequest request);
}
