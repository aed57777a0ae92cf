namespace LmExplore.Experiments.Reproduce;

/// <summary>The few statistics the reports need: quantiles over seeds, log-log slopes, crossovers, Wilson intervals.</summary>
public static class Stats
{
    /// <summary>Quantile with linear interpolation between order statistics (R type 7); NaN for no data. NaNs are ignored; +∞ sorts last.</summary>
    public static double Quantile(IEnumerable<double> values, double p)
    {
        var v = values.Where(x => !double.IsNaN(x)).Order().ToArray();
        if (v.Length == 0) return double.NaN;
        double h = (v.Length - 1) * p;
        int lo = (int)Math.Floor(h), hi = (int)Math.Ceiling(h);
        if (lo == hi || v[lo] == v[hi]) return v[lo];
        if (double.IsInfinity(v[hi])) return h - lo < 1e-12 ? v[lo] : v[hi];
        return v[lo] + (h - lo) * (v[hi] - v[lo]);
    }

    /// <summary>The median (NaNs ignored).</summary>
    public static double Median(IEnumerable<double> values) => Quantile(values, 0.5);

    /// <summary>Least-squares slope of log y against log x over the points with x, y &gt; 0 and finite; NaN with fewer than two distinct x.</summary>
    public static double LogLogSlope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var pts = Enumerable.Range(0, x.Count)
            .Where(i => x[i] > 0 && y[i] > 0 && double.IsFinite(x[i]) && double.IsFinite(y[i]))
            .Select(i => (Lx: Math.Log(x[i]), Ly: Math.Log(y[i]))).ToList();
        if (pts.Select(p => p.Lx).Distinct().Count() < 2) return double.NaN;
        double mx = pts.Average(p => p.Lx), my = pts.Average(p => p.Ly);
        double sxy = pts.Sum(p => (p.Lx - mx) * (p.Ly - my)), sxx = pts.Sum(p => (p.Lx - mx) * (p.Lx - mx));
        return sxy / sxx;
    }

    /// <summary>max/min of the finite positive values; NaN when there are none, +∞ when some value is infinite (censored).</summary>
    public static double MaxOverMin(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToList();
        if (v.Count == 0) return double.NaN;
        if (v.Any(double.IsInfinity)) return double.PositiveInfinity;
        var pos = v.Where(x => x > 0).ToList();
        return pos.Count == 0 ? double.NaN : pos.Max() / pos.Min();
    }

    /// <summary>
    /// The smallest x (on a log scale, interpolated between grid points) at which <paramref name="rate"/> first
    /// reaches <paramref name="level"/>, scanning x upward; NaN when never reached; the first x when reached there.
    /// </summary>
    public static double Crossover(IReadOnlyList<double> x, IReadOnlyList<double> rate, double level = 0.5)
    {
        var order = Enumerable.Range(0, x.Count).Where(i => x[i] > 0 && !double.IsNaN(rate[i])).OrderBy(i => x[i]).ToArray();
        for (int k = 0; k < order.Length; k++)
        {
            int i = order[k];
            if (rate[i] < level) continue;
            if (k == 0) return x[i];
            int j = order[k - 1];
            double t = (level - rate[j]) / (rate[i] - rate[j]);
            return Math.Exp(Math.Log(x[j]) + t * (Math.Log(x[i]) - Math.Log(x[j])));
        }
        return double.NaN;
    }

    /// <summary>Wilson score interval for a binomial proportion (z = 1.2816 gives the central 80 %, i.e. 10–90 %).</summary>
    public static (double Lo, double Hi) Wilson(int successes, int n, double z = 1.2815515655446004)
    {
        if (n == 0) return (double.NaN, double.NaN);
        double p = (double)successes / n, z2 = z * z;
        double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
        double half = z / (1 + z2 / n) * Math.Sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }
}
