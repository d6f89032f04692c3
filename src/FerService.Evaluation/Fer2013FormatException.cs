namespace FerService.Evaluation;

/// <summary>Thrown for a FER2013 file that does not have the documented shape; the message names the line.</summary>
public sealed class Fer2013FormatException : Exception
{
    public Fer2013FormatException(string message) : base(message) { }
    public Fer2013FormatException() { }
    public Fer2013FormatException(string message, Exception inner) : base(message, inner) { }
}
