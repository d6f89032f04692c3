using FerService.Fuzz;
using SharpFuzz;

// afl mode (no arguments): AFL++ feeds inputs through stdin; see scripts/fuzz.sh. FER_FUZZ_TARGET=upload fuzzes the
// upload reader instead of decode and detect.
// --seeds DIR: writes the generated seed corpus (--seeds DIR upload: the upload bodies). --smoke DIR: runs every file in DIR (and seeds) once.
if (args is ["--seeds", var seedDirectory])
{
    SeedCorpus.Write(seedDirectory);
    return 0;
}
if (args is ["--seeds", var uploadSeedDirectory, "upload"])
{
    Directory.CreateDirectory(uploadSeedDirectory);
    foreach (var (name, data) in UploadTarget.Seeds(SeedCorpus.Generate()))
    {
        File.WriteAllBytes(Path.Combine(uploadSeedDirectory, name), data);
    }
    return 0;
}
if (Environment.GetEnvironmentVariable("FER_FUZZ_TARGET") == "upload")
{
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var body = new MemoryStream();
        stream.CopyTo(body);
        UploadTarget.Run(body.ToArray());
    });
    return 0;
}
var modelPath = Environment.GetEnvironmentVariable("FER_DETECTOR") ?? Path.Combine(AppContext.BaseDirectory, "models", Path.GetFileName(new FerService.Inference.Detection.DetectionOptions().ModelPath));
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
