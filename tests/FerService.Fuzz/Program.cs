using FerService.Fuzz;
using SharpFuzz;

// afl mode (no arguments): AFL++ feeds inputs through stdin; see scripts/fuzz.sh.
// --seeds DIR: writes the generated seed corpus. --smoke DIR: runs every file in DIR (and seeds) once.
if (args is ["--seeds", var seedDirectory])
{
    SeedCorpus.Write(seedDirectory);
    return 0;
}
var modelPath = Environment.GetEnvironmentVariable("FER_DETECTOR") ?? Path.Combine(AppContext.BaseDirectory, "models", "face_detection_back_256x256_barracuda.onnx");
if (args is ["--smoke", var directory])
{
    using var smoke = new DecodeDetectTarget(modelPath);
    return smoke.Smoke(directory, Console.Out);
}
// Instrumented code must not run before Fuzzer.OutOfProcess.Run has mapped AFL's coverage memory,
// so the target is created on the first input.
DecodeDetectTarget? target = null;
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target ??= new DecodeDetectTarget(modelPath);
    target.Run(buffer.ToArray());
});
target?.Dispose();
return 0;
