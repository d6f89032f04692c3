using System.Globalization;

namespace FerService.Benchmarks;

/// <summary>A Prometheus histogram read from /metrics: cumulative bucket counts by upper bound, sum and count.</summary>
internal sealed record PrometheusHistogram(SortedDictionary<double, double> Buckets, double Sum, double Count)
{
    public static async Task<PrometheusHistogram> ScrapeAsync(HttpClient client, string name)
    {
        var text = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)).ConfigureAwait(false);
        var buckets = new SortedDictionary<double, double>();
        double sum = 0, count = 0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }
            var value = double.Parse(line[(line.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            if (line.StartsWith(name + "_bucket", StringComparison.Ordinal))
            {
                var le = line.IndexOf("le=\"", StringComparison.Ordinal) + 4;
                var bound = line[le..line.IndexOf('"', le)];
                buckets[bound == "+Inf" ? double.PositiveInfinity : double.Parse(bound, CultureInfo.InvariantCulture)] = value;
            }
            else if (line.StartsWith(name + "_sum", StringComparison.Ordinal))
            {
                sum = value;
            }
            else if (line.StartsWith(name + "_count", StringComparison.Ordinal))
            {
                count = value;
            }
        }
        return new PrometheusHistogram(buckets, sum, count);
    }

    public PrometheusHistogram Minus(PrometheusHistogram earlier)
    {
        var buckets = new SortedDictionary<double, double>();
        foreach (var (bound, value) in Buckets)
        {
            buckets[bound] = value - earlier.Buckets.GetValueOrDefault(bound);
        }
        return new PrometheusHistogram(buckets, Sum - earlier.Sum, Count - earlier.Count);
    }

    public double Mean => Count > 0 ? Sum / Count : double.NaN;

    /// <summary>Share of observations per bucket, as "≤1: 40%, 2: 35%, 3–4: 20%, …" (integer-valued observations).</summary>
    public string Distribution()
    {
        if (Count <= 0)
        {
            return "none";
        }
        var parts = new List<string>();
        var previousBound = double.NegativeInfinity;
        double previous = 0;
        foreach (var (bound, cumulative) in Buckets)
        {
            var share = (cumulative - previous) / Count;
            if (share > 0)
            {
                var low = double.IsNegativeInfinity(previousBound) ? bound : previousBound + 1;
                var label = double.IsPositiveInfinity(bound) ? $">{previousBound}" : low >= bound ? $"{bound}" : $"{low}-{bound}";
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{label}: {share:P0}"));
            }
            previous = cumulative;
            previousBound = bound;
        }
        return string.Join(", ", parts);
    }
}
