namespace FerService.Inference.Detection;

public readonly record struct BoxF(float X, float Y, float Width, float Height)
{
    public float Right => X + Width;
    public float Bottom => Y + Height;
    public float CenterX => X + Width / 2;
    public float CenterY => Y + Height / 2;
    public float Area => Math.Max(0, Width) * Math.Max(0, Height);

    public static float IntersectionOverUnion(BoxF a, BoxF b)
    {
        var width = Math.Min(a.Right, b.Right) - Math.Max(a.X, b.X);
        var height = Math.Min(a.Bottom, b.Bottom) - Math.Max(a.Y, b.Y);
        if (width <= 0 || height <= 0)
        {
            return 0;
        }
        var inner = width * height;
        return inner / (a.Area + b.Area - inner);
    }
}
