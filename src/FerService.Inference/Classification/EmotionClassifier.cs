using System.Buffers;
using System.Security.Cryptography;
using FerService.Inference.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace FerService.Inference.Classification;

/// <summary>Our FER2013 classifier: one shared session, manifest-driven input, sha256 checked at load.</summary>
internal sealed class EmotionClassifier : IEmotionClassifier, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly long _cropLength;

    public EmotionClassifier(string manifestPath, OnnxSessionFactory sessions)
    {
        if (!File.Exists(manifestPath))
        {
            throw new FileNotFoundException($"Classifier manifest '{manifestPath}' is missing.", manifestPath);
        }
        Manifest = ModelManifest.Load(manifestPath);
        var modelPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(manifestPath))!, Manifest.File);
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"Classifier model '{modelPath}' named by '{manifestPath}' is missing.", modelPath);
        }
        var bytes = File.ReadAllBytes(modelPath);
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(actual, Manifest.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"Classifier model '{modelPath}' has sha256 {actual}, but its manifest says {Manifest.Sha256}; refusing to load it.");
        }
        _session = sessions.Create(bytes, "emotion classifier");
        _inputNames = [Manifest.Input.Name];
        _outputNames = [Manifest.OutputName];
        _cropLength = (long)Manifest.Input.Channels * Manifest.Input.Height * Manifest.Input.Width;
        if (!_session.InputMetadata.ContainsKey(Manifest.Input.Name) || !_session.OutputMetadata.TryGetValue(Manifest.OutputName, out var output))
        {
            throw new InvalidDataException($"Classifier model does not have the input '{Manifest.Input.Name}' and output '{Manifest.OutputName}' its manifest names.");
        }
        // The card's layout and shape are a contract with the crops the aligner writes: check them once, here.
        var input = Manifest.Input;
        var dimensions = _session.InputMetadata[input.Name].Dimensions;
        if (input.Layout != "NCHW" || !dimensions.Select(d => (long)d).SequenceEqual(input.Shape)
            || input.Shape.Count != 4 || input.Shape[1] != input.Channels || input.Shape[2] != input.Height || input.Shape[3] != input.Width)
        {
            throw new InvalidDataException(
                $"Classifier input '{input.Name}' is [{string.Join(',', dimensions)}]; its manifest says {input.Layout} [{string.Join(',', input.Shape)}] for {input.Channels}×{input.Height}×{input.Width} crops.");
        }
        if (output.Dimensions[^1] is var classes && classes > 0 && classes != Manifest.Labels.Count)
        {
            throw new InvalidDataException($"Classifier outputs {classes} classes but its manifest lists {Manifest.Labels.Count} labels.");
        }
    }

    public ModelManifest Manifest { get; }

    public void ComputeLogits(ReadOnlyMemory<float> crops, int count, Span<float> logits)
    {
        var classes = Manifest.Labels.Count;
        if (crops.Length < count * _cropLength || logits.Length < count * classes)
        {
            throw new ArgumentException("Buffers are smaller than the batch.", nameof(crops));
        }
        var input = Manifest.Input;
        var outputBuffer = ArrayPool<float>.Shared.Rent(count * classes);
        try
        {
            using var inputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                System.Runtime.InteropServices.MemoryMarshal.AsMemory(crops[..(int)(count * _cropLength)]),
                [count, input.Channels, input.Height, input.Width]);
            using var outputValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, outputBuffer.AsMemory(0, count * classes), [count, classes]);
            _session.Run(_runOptions, _inputNames, [inputValue], _outputNames, [outputValue]);
            outputBuffer.AsSpan(0, count * classes).CopyTo(logits);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(outputBuffer);
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
