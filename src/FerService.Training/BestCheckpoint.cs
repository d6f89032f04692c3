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

    /// <summary>The best weights so far into a run's checkpoint (nothing yet: an empty net's, never read back as best).</summary>
    public void SaveTo(string path)
    {
        using var copy = newModel();
        if (_state is not null)
        {
            ModelState.Load(copy, _state);
        }
        copy.save(path);
    }

    /// <summary>What <see cref="SaveTo"/> wrote, with its accuracy and source: a resumed run's best so far.</summary>
    public void Restore(string path, double accuracy, string source)
    {
        if (accuracy < 0)
        {
            return;
        }
        using var copy = newModel();
        copy.load(path);
        ModelState.Release(_state);
        _state = ModelState.Clone(copy);
        (Accuracy, Source) = (accuracy, source);
    }

    public void LoadInto(EmotionNet model)
    {
        ModelState.Load(model, _state!);
        ModelState.Release(_state);
        _state = null;
    }
}
