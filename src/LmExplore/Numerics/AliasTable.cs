using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Fills <paramref name="destination"/> with draws: the same categories, from the same stream, as that many
    /// <see cref="Sample"/> calls (so a caller may batch without changing any result). The common case runs four draws
    /// per step with AVX2 gathers: one 64-bit word per draw is read ahead in a chunk, each is mapped as in
    /// <see cref="Sample"/>, and if any word of the chunk needs a rejection or a refinement (each rarer than 2^-32·n and
    /// 2^-32), the generator is rewound and the chunk replayed one draw at a time.
    /// </summary>
    [System.Runtime.CompilerServices.SkipLocalsInit] // the stack buffer is written before it is read
    public void SampleMany(Rng rng, Span<int> destination)
    {
        // The gather indices are 2·column and 4·column in 64-bit lanes; the scalar path covers CPUs without AVX2.
        if (!Avx2.IsSupported)
        {
            for (int i = 0; i < destination.Length; i++) destination[i] = Sample(rng);
            return;
        }
        Span<ulong> words = stackalloc ulong[Chunk];
        while (destination.Length > 0)
        {
            var chunk = destination[..Math.Min(Chunk, destination.Length)];
            var start = rng.Position;
            rng.Fill(words[..chunk.Length]);
            if (!LookUp(words[..chunk.Length], chunk))
            {
                rng.Rewind(start);
                for (int i = 0; i < chunk.Length; i++) chunk[i] = Sample(rng);
            }
            destination = destination[chunk.Length..];
        }
    }

    private const int Chunk = 64;

    /// <summary>Column <paramref name="column"/>'s coin threshold (tests craft words that hit the rare branches).</summary>
    internal double Threshold(int column) => _table[column].Prob;

    /// <summary>Maps one word per draw as <see cref="Sample"/> does; false if some word needs more of the stream.</summary>
    internal unsafe bool LookUp(ReadOnlySpan<ulong> words, Span<int> categories)
    {
        uint n = (uint)_table.Length;
        int i = 0;
        var rare = Vector256<long>.Zero;
        fixed (Entry* table = _table)
        fixed (ulong* w = words)
        fixed (int* y = categories)
        {
            var vn = Vector256.Create((ulong)n);
            var low32 = Vector256.Create(0xFFFFFFFFUL);
            // A 32-bit integer k as a double, exactly: the bits of 2^52 + k, minus 2^52.
            var twoPow52 = Vector256.Create(4503599627370496.0);
            var scale = Vector256.Create(TwoPowMinus32);
            double* prob = &table->Prob;
            int* alias = &table->Alias;
            for (; i + 4 <= words.Length; i += 4)
            {
                var bits = Vector256.Load(w + i);
                var m = Avx2.Multiply((bits >>> 32).AsUInt32(), vn.AsUInt32()); // (bits ≫ 32)·n, 64-bit products
                var column = (m >>> 32).AsInt64();
                var p = Avx2.GatherVector256(prob, column << 1, 8);              // Entry is 16 bytes: 2 doubles
                var a = Avx2.ConvertToVector256Int64(Avx2.GatherVector128(alias, column << 2, 4));
                var u = ((bits & low32) | twoPow52.AsUInt64()).AsDouble() - twoPow52;
                u *= scale;
                var heads = Vector256.LessThan(u, p).AsInt64();
                rare |= Vector256.LessThan((m & low32).AsInt64(), vn.AsInt64());            // Lemire rejection
                rare |= Vector256.GreaterThan(u + Vector256.Create(TwoPowMinus32), p).AsInt64() & heads; // coin undecided
                var chosen = Vector256.ConditionalSelect(heads, column, a);
                Avx2.PermuteVar8x32(chosen.AsInt32(), Vector256.Create(0, 2, 4, 6, 0, 0, 0, 0)).GetLower().Store(y + i);
            }
        }
        if (rare != Vector256<long>.Zero) return false;
        for (; i < words.Length; i++)
        {
            ulong bits = words[i];
            ulong m = (bits >> 32) * n;
            if ((uint)m < n) return false;
            int column = (int)(m >> 32);
            ref readonly Entry e = ref _table[column];
            double u = (bits & 0xFFFFFFFFUL) * TwoPowMinus32;
            if ((u + TwoPowMinus32 > e.Prob) & (u < e.Prob)) return false;
            categories[i] = u < e.Prob ? column : e.Alias;
        }
        return true;
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
