namespace LmExplore.Numerics;

/// <summary>
/// Walker/Vose alias table: O(n) construction, O(1) allocation-free categorical sampling.
/// Built from log-probabilities so that tiny masses (e.g. a needle with q = 1e-9) survive.
/// </summary>
public sealed class AliasTable
{
    private readonly double[] _prob;
    private readonly int[] _alias;

    /// <summary>Number of categories.</summary>
    public int Count => _prob.Length;

    /// <summary>Builds the table from (possibly unnormalized) log-weights.</summary>
    public AliasTable(ReadOnlySpan<double> logWeights)
    {
        int n = logWeights.Length;
        if (n == 0) throw new ArgumentException("alias table needs at least one category");
        double lse = LogMath.LogSumExp(logWeights);
        _prob = new double[n];
        _alias = new int[n];
        var scaled = new double[n];
        for (int i = 0; i < n; i++) scaled[i] = Math.Exp(logWeights[i] - lse) * n;
        var small = new int[n];
        var large = new int[n];
        int ns = 0, nl = 0;
        for (int i = 0; i < n; i++)
        {
            if (scaled[i] < 1.0) small[ns++] = i; else large[nl++] = i;
        }
        while (ns > 0 && nl > 0)
        {
            int s = small[--ns];
            int l = large[--nl];
            _prob[s] = scaled[s];
            _alias[s] = l;
            scaled[l] = scaled[l] + scaled[s] - 1.0;
            if (scaled[l] < 1.0) small[ns++] = l; else large[nl++] = l;
        }
        while (nl > 0) { int l = large[--nl]; _prob[l] = 1.0; _alias[l] = l; }
        while (ns > 0) { int s = small[--ns]; _prob[s] = 1.0; _alias[s] = s; }
    }

    /// <summary>Draws one category. One 64-bit draw: 32 bits pick the column, 32 bits flip its coin;
    /// a coin within 2^-32 of its threshold is refined with a fresh full-precision draw, so the
    /// distribution is exact to double precision.</summary>
    public int Sample(Rng rng)
    {
        ulong bits = rng.NextUInt64();
        int i = (int)(((bits >> 32) * (ulong)_prob.Length) >> 32);
        double u = (bits & 0xFFFFFFFFUL) * TwoPowMinus32;
        double p = _prob[i];
        if (u + TwoPowMinus32 <= p) return i;
        if (u >= p) return _alias[i];
        return u + rng.NextDouble() * TwoPowMinus32 < p ? i : _alias[i];
    }

    private const double TwoPowMinus32 = 1.0 / 4294967296.0;
}
