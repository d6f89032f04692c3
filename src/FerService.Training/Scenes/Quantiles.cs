namespace FerService.Training.Scenes;

/// <summary>Percentiles of a sorted list (nearest rank) and the median of any; 0 for none.</summary>
internal static class Quantiles
{
    public static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }
        var sorted = values.Order().ToList();
        return Percentile(sorted, 0.5);
    }
}
