namespace LmExplore.Tests.Support;

/// <summary>Goodness-of-fit helpers for the fixed-seed statistical tests.</summary>
public static class Stats
{
    /// <summary>Pearson χ² statistic of observed counts against expected probabilities, merging categories whose
    /// expected count is below 5 into one bin (the usual validity condition). Returns (χ², degrees of freedom).</summary>
    public static (double Chi2, int Df) ChiSquare(ReadOnlySpan<long> counts, ReadOnlySpan<double> probs)
    {
        long n = 0;
        foreach (long c in counts) n += c;
        double chi2 = 0, pooledObs = 0, pooledExp = 0;
        int bins = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            double e = probs[i] * n;
            if (e < 5) { pooledObs += counts[i]; pooledExp += e; continue; }
            chi2 += (counts[i] - e) * (counts[i] - e) / e;
            bins++;
        }
        if (pooledExp >= 5) { chi2 += (pooledObs - pooledExp) * (pooledObs - pooledExp) / pooledExp; bins++; }
        else if (pooledObs > 20) chi2 = double.PositiveInfinity; // far more hits than a < 5 expected count allows
        return (chi2, Math.Max(1, bins - 1));
    }

    /// <summary>Upper 10⁻⁶ quantile of χ²_df (Wilson–Hilferty, z = 4.753). A correct sampler fails a test at this
    /// threshold with probability 10⁻⁶; the seeds are fixed, so a pass is reproducible.</summary>
    public static double ChiSquareCritical(int df)
    {
        const double z = 4.753;
        double a = 2.0 / (9 * df);
        return df * Math.Pow(1 - a + z * Math.Sqrt(a), 3);
    }

    /// <summary>Asserts the counts fit the probabilities at the 10⁻⁶ level.</summary>
    public static void AssertFits(ReadOnlySpan<long> counts, ReadOnlySpan<double> probs, string what)
    {
        var (chi2, df) = ChiSquare(counts, probs);
        double crit = ChiSquareCritical(df);
        Assert.True(chi2 <= crit, $"{what}: χ² = {chi2:F1} with {df} df exceeds the 1e-6 critical value {crit:F1}");
    }

    /// <summary>Total-variation distance between the empirical distribution of the counts and probs.</summary>
    public static double TotalVariation(ReadOnlySpan<long> counts, ReadOnlySpan<double> probs)
    {
        long n = 0;
        foreach (long c in counts) n += c;
        double tv = 0;
        for (int i = 0; i < counts.Length; i++) tv += Math.Abs((double)counts[i] / n - probs[i]);
        return tv / 2;
    }

    /// <summary>Normalized probabilities from log-weights.</summary>
    public static double[] Softmax(ReadOnlySpan<double> logWeights)
    {
        double max = double.NegativeInfinity;
        foreach (double v in logWeights) max = Math.Max(max, v);
        var p = new double[logWeights.Length];
        double s = 0;
        for (int i = 0; i < p.Length; i++) s += p[i] = Math.Exp(logWeights[i] - max);
        for (int i = 0; i < p.Length; i++) p[i] /= s;
        return p;
    }
}
