namespace LmExplore.Numerics;

/// <summary>
/// Walker/Vose alias table: O(n) construction, O(1) allocation-free categorical sampling.
/// Built from log-probabilities so that tiny masses (e.g. a needle with q = 1e-9) survive.
/// </summary>
public sealed class AliasTable
{
    // One 16-byte entry per column (coin threshold and alias together): a draw touches one cache line, which
    // matters once the table outgrows the caches (|Y| = 10⁶ is 16 MB).
    private readonly Entry[] _table;

    private struct Entry
    {
        public double Prob;
        public int Alias;
    }

    /// <summary>Number of categories.</summary>
    public int Count => _table.Length;

    /// <summary>Builds the table from (possibly unnormalized) log-weights.</summary>
    public AliasTable(ReadOnlySpan<double> logWeights)
    {
        int n = logWeights.Length;
        if (n == 0) throw new ArgumentException("alias table needs at least one category");
        double lse = LogMath.LogSumExp(logWeights);
        // All −∞ (zero total weight), a NaN or a +∞ would silently turn into a uniform or degenerate table.
        if (!double.IsFinite(lse)) throw new ArgumentException($"alias table needs finite log-weights with positive total weight (log-sum-exp is {lse})");
        var prob = new double[n];
        var alias = new int[n];
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
            prob[s] = scaled[s];
            alias[s] = l;
            scaled[l] = scaled[l] + scaled[s] - 1.0;
            if (scaled[l] < 1.0) small[ns++] = l; else large[nl++] = l;
        }
        while (nl > 0) { int l = large[--nl]; prob[l] = 1.0; alias[l] = l; }
        while (ns > 0) { int s = small[--ns]; prob[s] = 1.0; alias[s] = s; }
        _table = new Entry[n];
        for (int i = 0; i < n; i++) _table[i] = new Entry { Prob = prob[i], Alias = alias[i] };
    }

    /// <summary>Draws one category. One 64-bit draw: the high 32 bits pick the column (Lemire's multiply-shift with
    /// rejection, so every column is exactly equally likely), the low 32 bits flip its coin; a coin within 2^-32 of
    /// its threshold is refined with a fresh full-precision draw, so the distribution is exact to double precision.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public int Sample(Rng rng)
    {
        var table = _table;
        ulong bits = rng.NextUInt64();
        uint n = (uint)table.Length;
        ulong m = (bits >> 32) * n;
        // Without rejection the columns whose preimage has one extra 32-bit value would be favoured by up to n/2^32
        // (2·10⁻⁴ relative at n = 10⁶). Rejection happens with probability < n/2^32.
        if ((uint)m < n) m = RejectColumn(rng, m, n);
        int column = (int)(m >> 32);
        ref readonly Entry e = ref table[column];
        double u = (bits & 0xFFFFFFFFUL) * TwoPowMinus32;
        double p = e.Prob;
        // The coin is a coin flip for the branch predictor: decide it with a conditional move, and branch only on the
        // rare (< 2^-32) case where the 32-bit coin cannot decide. Non-short-circuit '&' keeps that one branch predictable.
        if ((u + TwoPowMinus32 > p) & (u < p)) return Refine(rng, u, p, column, e.Alias);
        return u < p ? column : e.Alias;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static int Refine(Rng rng, double u, double p, int column, int alias) =>
        u + rng.NextDouble() * TwoPowMinus32 < p ? column : alias;

    // Lemire's rejection step: redraw the 32-bit column word while the low half of the product falls below 2^32 mod n.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static ulong RejectColumn(Rng rng, ulong m, uint n)
    {
        uint threshold = (uint)(-n) % n;
        while ((uint)m < threshold) m = (rng.NextUInt64() >> 32) * n;
        return m;
    }

    private const double TwoPowMinus32 = 1.0 / 4294967296.0;
}
