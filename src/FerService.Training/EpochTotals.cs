namespace FerService.Training;

/// <summary>One epoch's running sums for its log line.</summary>
internal sealed class EpochTotals
{
    public double LossSum;
    public long Seen;
    public long Correct;
    public double LearningRate;
    /// <summary>Seconds in data, forward, backward and optimiser step.</summary>
    public readonly double[] PhaseSeconds = new double[4];
}
