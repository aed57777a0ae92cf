namespace LmExplore.Tests.Support;

/// <summary>Pearson's chi-square goodness-of-fit test, pooling categories whose expected count is below 5.</summary>
internal static class ChiSquare
{
    /// <summary>The p-value of observed counts against probabilities (summing to 1).</summary>
    public static double PValue(IReadOnlyList<long> observed, IReadOnlyList<double> probabilities)
    {
        long n = observed.Sum();
        double statistic = 0, pooledExpected = 0;
        long pooledObserved = 0;
        int bins = 0;
        for (int i = 0; i < observed.Count; i++)
        {
            double expected = n * probabilities[i];
            if (expected < 5) { pooledExpected += expected; pooledObserved += observed[i]; continue; }
            statistic += (observed[i] - expected) * (observed[i] - expected) / expected;
            bins++;
        }
        if (pooledExpected > 0)
        {
            statistic += (pooledObserved - pooledExpected) * (pooledObserved - pooledExpected) / Math.Max(pooledExpected, 1e-12);
            bins++;
        }
        if (bins < 2) return 1;
        return 1 - MathNet.Numerics.Distributions.ChiSquared.CDF(bins - 1, statistic);
    }
}
