using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Algorithms;

/// <summary>The outcome of one <see cref="SpannerPairScan.Scan"/>: the pairs drawn (each two oracle calls) and, when a
/// pair passed the test, that pair, its relative feature (<see cref="SpannerPairScan.FoundFeature"/>) and its norm.</summary>
internal readonly record struct PairScanResult(long PairsTried, bool Informative, Response Y1, Response Y2, double NormSquared);

/// <summary>
/// Phase 1's inner loop: candidate pairs y, y' ~ π_ref(·|x) until one has ‖φ(x,y) − φ(x,y')‖²_{Σ⁻¹} &gt; ν².
/// Pairs are drawn in blocks (one <see cref="ILearnerEnvironment.SampleMany"/> call per block) and the test runs on
/// the whole block at once: the relative features are stored coordinate-major and vᵀΣ⁻¹v is evaluated for 8 pairs per
/// SIMD lane group, using Σ⁻¹'s symmetry (d(d+1)/2 multiply-adds per 8 pairs). Blocks grow 1, 2, 4, 8, 16 pairs within
/// a scan: a block is paid for in full, so the pairs after an informative one are charged but unused, and the growth
/// bounds that waste by the pairs already tried at this prompt (at most 15 pairs per hit, and at most doubling the draws at
/// a prompt that ends in a hit; none on the first pair, where most early hits fall). Allocation-free after construction.
/// </summary>
internal sealed class SpannerPairScan
{
    /// <summary>Largest block, in pairs.</summary>
    public const int MaxBlock = 16;
    private readonly int _d;
    private readonly Response[] _draws = new Response[2 * MaxBlock];
    private readonly double[] _v;       // d × MaxBlock, coordinate-major: _v[k·MaxBlock + j] = v_j[k]
    private readonly double[] _q = new double[MaxBlock];
    private readonly double[] _found;

    /// <summary>Scratch for dimension <paramref name="dimension"/>.</summary>
    public SpannerPairScan(int dimension)
    {
        _d = dimension;
        _v = new double[dimension * MaxBlock];
        _found = new double[dimension];
    }

    /// <summary>v = φ(y) − φ(y') of the informative pair of the last scan.</summary>
    public ReadOnlySpan<double> FoundFeature => _found;

    /// <summary>
    /// Draws up to <paramref name="maxPairs"/> pairs at <paramref name="prompt"/> (the caller makes sure the budget pays
    /// for them) and stops at the first block holding a pair with ‖v‖²_{Σ⁻¹} &gt; <paramref name="nuSquared"/>; the
    /// first such pair is returned.
    /// </summary>
    public PairScanResult Scan(ILearnerEnvironment env, Prompt prompt, Rng rng, EllipticNorm sigma, double nuSquared, long maxPairs)
    {
        int d = _d;
        var inverse = sigma.Inverse;
        long tried = 0;
        int block = 1;
        while (tried < maxPairs)
        {
            int b = (int)Math.Min(block, maxPairs - tried);
            var draws = _draws.AsSpan(0, 2 * b);
            env.SampleMany(prompt, rng, draws);
            tried += b;
            for (int j = 0; j < b; j++)
            {
                var a = env.Features(draws[2 * j]);
                var c = env.Features(draws[2 * j + 1]);
                for (int k = 0; k < d; k++) _v[k * MaxBlock + j] = a[k] - c[k];
            }
            QuadraticForms(inverse, d, b);
            for (int j = 0; j < b; j++)
            {
                if (_q[j] <= nuSquared) continue;
                for (int k = 0; k < d; k++) _found[k] = _v[k * MaxBlock + j];
                return new PairScanResult(tried, true, draws[2 * j], draws[2 * j + 1], _q[j]);
            }
            if (block < MaxBlock) block *= 2;
        }
        return new PairScanResult(tried, false, default, default, 0);
    }

    /// <summary>q_j = v_jᵀ A v_j for the first <paramref name="count"/> pairs, A symmetric d × d:
    /// q = Σ_i v_i (A_ii v_i + 2 Σ_{k&gt;i} A_ik v_k), 8 pairs per vector.</summary>
    private void QuadraticForms(ReadOnlySpan<double> a, int d, int count)
    {
        ref double v = ref MemoryMarshal.GetArrayDataReference(_v);
        ref double q = ref MemoryMarshal.GetArrayDataReference(_q);
        // MaxBlock is a multiple of the vector width, so whole vectors always fit; lanes past count are ignored.
        for (int j = 0; j < count; j += Vector512<double>.Count)
        {
            var acc = Vector512<double>.Zero;
            for (int i = 0; i < d; i++)
            {
                var vi = Vector512.LoadUnsafe(ref v, (nuint)(i * MaxBlock + j));
                var t = vi * Vector512.Create(a[i * d + i]);
                for (int k = i + 1; k < d; k++)
                    t = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref v, (nuint)(k * MaxBlock + j)), Vector512.Create(2 * a[i * d + k]), t);
                acc = Vector512.FusedMultiplyAdd(t, vi, acc);
            }
            acc.StoreUnsafe(ref q, (nuint)j);
        }
    }
}
