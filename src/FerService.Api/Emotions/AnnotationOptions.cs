namespace FerService.Api.Emotions;

/// <summary>Section <c>Fer:Annotation</c>.</summary>
public sealed class AnnotationOptions
{
    public const string Section = "Fer:Annotation";

    /// <summary>TrueType font for labels on annotated images (Debian package fonts-dejavu-core); without it only boxes are drawn.</summary>
    public string FontPath { get; set; } = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
}
