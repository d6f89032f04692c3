using System.Text.Json;
using FerService.Inference.Classification;
using TorchSharp;
using static TorchSharp.torch;

namespace FerService.Training;

/// <summary>Where a run stands after an epoch: what <c>train --resume</c> continues from.</summary>
internal sealed record RunState(TrainOptions Options, int Epoch, long Steps, double ElapsedSeconds, List<EpochLog> Epochs,
    double BestAccuracy, string BestSource, string? InitSha256);

/// <summary>
/// A run's folder (<c>artifacts/training/&lt;run&gt;/</c> by default): after every epoch the model, its average, the
/// optimiser's momentum, the best weights so far and <see cref="RunState"/>, each file replaced whole, so a run stopped
/// at any moment resumes from its last finished epoch. Random generators need no saving: each epoch reseeds them from
/// the run's seed and its number.
/// </summary>
internal sealed class RunCheckpoint(string directory)
{
    private const string StateFile = "run.json";
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public string Directory { get; } = directory;

    public static string DefaultDirectory(int seed) =>
        Path.Combine("artifacts", "training", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-seed{seed}"));

    /// <summary>The seed of an epoch's random generators (shuffle, augmentation, dropout): the same on a resumed run.</summary>
    public static int EpochSeed(int seed, int epoch) => unchecked(seed * 1_000_003 + epoch);

    /// <summary>The epoch's checkpoint (not for channels-last nets: their weights and momentum are not contiguous, which saving refuses).</summary>
    public void Save(RunState state, EmotionNet model, EmotionNet ema, TorchSharp.Modules.OptimizerHelper optimizer, BestCheckpoint best)
    {
        System.IO.Directory.CreateDirectory(Directory);
        Replace("model.bin", path => model.save(path));
        Replace("ema.bin", path => ema.save(path));
        Replace("optimizer.bin", path => optimizer.save_state_dict(path));
        Replace("best.bin", path => best.SaveTo(path));
        // The state last: a crash before it leaves the previous epoch's state, whose files it then reloads in full.
        Replace(StateFile, path => File.WriteAllText(path, JsonSerializer.Serialize(state, Json)));
    }

    public RunState ReadState()
    {
        var path = Path.Combine(Directory, StateFile);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{Directory}' holds no {StateFile}: not a training run folder (train writes one per run, see --run-dir).", path);
        }
        return JsonSerializer.Deserialize<RunState>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"'{path}' is empty.");
    }

    public void Restore(RunState state, EmotionNet model, EmotionNet ema, TorchSharp.Modules.OptimizerHelper optimizer, BestCheckpoint best)
    {
        model.load(Path.Combine(Directory, "model.bin"));
        ema.load(Path.Combine(Directory, "ema.bin"));
        optimizer.load_state_dict(Path.Combine(Directory, "optimizer.bin"));
        best.Restore(Path.Combine(Directory, "best.bin"), state.BestAccuracy, state.BestSource);
    }

    /// <summary>Writes beside the file, then moves over it: a reader never sees half a checkpoint.</summary>
    private void Replace(string name, Action<string> write)
    {
        var path = Path.Combine(Directory, name);
        var partial = path + ".partial";
        write(partial);
        File.Move(partial, path, overwrite: true);
    }
}
