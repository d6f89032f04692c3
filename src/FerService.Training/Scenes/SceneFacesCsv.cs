using FerService.Inference;
using System.Globalization;
using FerService.Evaluation;
using FerService.Inference.Classification;
using FerService.Serving;

namespace FerService.Training.Scenes;

/// <summary><c>evaluate-scenes --faces-csv</c>: one line per true or false face, for finding out why faces are missed.</summary>
internal static class SceneFacesCsv
{
    /// <summary>The per-face lines with each true face's label, its label from the scene (-1: not found) and from its crop.</summary>
    public static void Write(string path, List<(int Face, string Text)> lines, List<int> faceRows, Fer2013Split split,
        List<int> sceneLabels, List<ImageAnalysis> cropAnalyses)
    {
        var csv = new System.Text.StringBuilder(
            "scene,row,width,height,orientation,x,y,trueSide,bestIou,reportedSide,score,boxX,boxY,boxW,boxH,reX,reY,leX,leY,noseX,noseY,mouthX,mouthY,label,sceneLabel,cropLabel\n");
        foreach (var (face, text) in lines)
        {
            csv.Append(text);
            if (face >= 0)
            {
                csv.Append(CultureInfo.InvariantCulture,
                    $",{split.Labels[faceRows[face]]},{sceneLabels[face]},{Softmax.ArgMax(cropAnalyses[face].Faces[0].ClassProbabilities.Span)}");
            }
            else
            {
                csv.Append(",,,");
            }
            csv.Append('\n');
        }
        File.WriteAllText(path, csv.ToString());
    }

    public static string Geometry(FaceEmotion? face) => face?.Landmarks is not { } l ? ",,,,,,,,,,,"
        : string.Create(CultureInfo.InvariantCulture,
            $"{face.Box.X:F1},{face.Box.Y:F1},{face.Box.Width:F1},{face.Box.Height:F1},{l.RightEye.X:F1},{l.RightEye.Y:F1},{l.LeftEye.X:F1},{l.LeftEye.Y:F1},{l.Nose.X:F1},{l.Nose.Y:F1},{l.Mouth.X:F1},{l.Mouth.Y:F1}");
}
