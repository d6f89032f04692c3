using FerService.Evaluation;
using FerService.Inference;
using FerService.Inference.Classification;
using FerService.Inference.Pipeline;
using FerService.Tests.Shared;
using SkiaSharp;

namespace FerService.Training.Tests;

/// <summary>A teacher's stored predictions (<c>teach</c>) and a student trained against them (<c>train --teacher-targets</c>).</summary>
[Collection(TorchTests.Name)]
public sealed class TeacherTargetsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("fer-teacher-").FullName;

    public void Dispose() => Directory.Delete(_directory, true);

    [Fact]
    public void Mix_HalfWeight_AveragesLabelAndTeacher()
    {
        float[] targets = [0.9f, 0.1f, 0, 0, 0, 0, 0];
        TeacherTargets.Mix(targets, [0.5f, 0.3f, 0.2f, 0, 0, 0, 0], 0.5);
        Assert.Equal([0.7f, 0.2f, 0.1f, 0, 0, 0, 0], targets);
    }

    [Theory]
    [InlineData("row,a,b,c,d,e,f,g\n0,1,0,0,0,0,0,0\n", "no prediction for Training row 1")]
    [InlineData("row,a,b,c,d,e,f,g\n0,1,0,0,0,0,0,0\n1,0.5,0,0,0,0,0,0\n", "sum to 0.5000")]
    [InlineData("row,scale,shiftX,shiftY\n", "not a teacher file")]
    public void Read_BrokenFile_FailsSayingWhat(string text, string expected)
    {
        var path = Path.Combine(_directory, "teacher.csv");
        File.WriteAllText(path, text);
        var error = Assert.Throws<InvalidDataException>(() => TeacherTargets.Read(path, 2));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The file's probabilities against the library's own answer for the same face: another path through the same model.</summary>
    [Fer2013Fact]
    public void Teach_ShippedModel_EachRowIsTheLibrarysFlipAveragedAnswer()
    {
        var path = Path.Combine(_directory, "teacher.csv");
        var model = Path.ChangeExtension(TestPaths.ClassifierManifest, ".onnx");
        TeacherTargets.Write(TestPaths.Fer2013!, model, path, TextWriter.Null, maxRows: 12);
        var teacher = TeacherTargets.Read(path, 12);

        var train = Fer2013Reader.Read(TestPaths.Fer2013!, ["Training"], 12)["Training"];
        using var analyzer = EmotionAnalyzer.Create(new EmotionAnalyzerOptions { ClassifierManifest = TestPaths.ClassifierManifest });
        var request = new AnalysisRequest(false, analyzer.DefaultRequest.Detection);
        for (var row = 0; row < train.Count; row++)
        {
            var face = Assert.Single(analyzer.Analyze(Png(train.Image(row).ToArray()), request).Faces);
            for (var c = 0; c < 7; c++)
            {
                Assert.Equal(face.ClassProbabilities.Span[c], teacher[row * 7 + c], 3e-4);
            }
        }
    }

    [Fact]
    public void TeachThenTrain_TinySlice_StudentCardNamesTheTeacherFile()
    {
        var data = TrainingTests.WriteSyntheticCsv(_directory, training: 70, publicTest: 21);
        var models = Path.Combine(_directory, "teacher");
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] tiny = ["--data", data, "--epochs", "1", "--max-steps", "3", "--batch", "16", "--arch", "8,M,16,M", "--threads", "1"];
        Assert.True(Cli.Run(["train", "--out", models, "--seed", "3", .. tiny], output, error) == 0, error.ToString());

        var file = Path.Combine(_directory, "artifacts", "teacher-training.csv");   // its folder made on the way
        Assert.True(Cli.Run(["teach", "--model", Path.Combine(models, "emotion-fer2013.onnx"), "--data", data, "--out", file], output, error) == 0, error.ToString());
        Assert.Equal(71, File.ReadAllLines(file).Length);

        var student = Path.Combine(_directory, "student");
        Assert.True(Cli.Run(["train", "--out", student, "--seed", "4", "--teacher-targets", file, "--teacher-weight", "0.7", .. tiny], output, error) == 0,
            error.ToString());
        var loss = ModelManifest.Load(Path.Combine(student, "emotion-fer2013.json")).Training!.Recipe!["loss"];
        Assert.Contains("0.3 × the label smoothed 0.1 + 0.7 × a teacher's", loss, StringComparison.Ordinal);
        Assert.Contains($"teacher-training.csv, sha256 {TeacherTargets.Sha256(file)}", loss, StringComparison.Ordinal);
    }

    private static byte[] Png(byte[] grey)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(48, 48, SKColorType.Gray8, SKAlphaType.Opaque));
        grey.CopyTo(bitmap.GetPixelSpan());
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
