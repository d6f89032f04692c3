using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>
/// The best weights seen on PublicTest (model or EMA, any epoch), kept in memory and saved as the checkpoint so a
/// stopped run can still be exported.
/// </summary>
internal sealed class BestCheckpoint(string outputDirectory, Func<EmotionNet> newModel)
{
    public const string FileName = "emotion-fer2013.ckpt";

    private Dictionary<string, Tensor>? _state;

    public double Accuracy { get; private set; } = -1;
    public string Source { get; private set; } = "";

    public void Offer(EmotionNet candidate, double accuracy, string source)
    {
        if (accuracy <= Accuracy)
        {
            return;
        }
        Accuracy = accuracy;
        Source = source;
        ModelState.Release(_state);
        _state = ModelState.Clone(candidate);
        Directory.CreateDirectory(outputDirectory);
        // Saved from a plain copy: a channels-last net's weights are not contiguous, which save() refuses.
        using var copy = newModel();
        ModelState.Load(copy, _state);
        copy.save(Path.Combine(outputDirectory, FileName));
    }

    public void LoadInto(EmotionNet model)
    {
        ModelState.Load(model, _state!);
        ModelState.Release(_state);
        _state = null;
    }
}
