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
using var target = new DecodeDetectTarget(modelPath);
if (args is ["--smoke", var directory])
{
    return target.Smoke(directory, Console.Out);
}
Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target.Run(buffer.ToArray());
});
return 0;
