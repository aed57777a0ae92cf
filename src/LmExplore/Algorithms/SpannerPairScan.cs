using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Algorithms;

/// <summary>The outcome of one <see cref="SpannerPairScan.Scan"/>: the pairs tested (up to and including the informative
/// one), the pairs newly drawn (each two oracle calls) and, when a pair passed the test, that pair, its relative feature
/// (<see cref="SpannerPairScan.FoundFeature"/>) and its norm.</summary>
internal readonly record struct PairScanResult(long PairsTested, long PairsDrawn, bool Informative, Response Y1, Response Y2, double NormSquared);

/// <summary>
/// Phase 1's inner loop: candidate pairs y, y' ~ π_ref(·|x) until one has ‖φ(x,y) − φ(x,y')‖²_{Σ⁻¹} &gt; ν².
/// Pairs are drawn in blocks (one <see cref="ILearnerEnvironment.SampleMany"/> call per block) and the test runs on
/// the whole block at once: the relative features are stored coordinate-major and vᵀΣ⁻¹v is evaluated for 8 pairs per
/// SIMD lane group, using Σ⁻¹'s symmetry (d(d+1)/2 multiply-adds per 8 pairs). Blocks grow 1, 2, 4, 8, 16 pairs within
/// a scan. A block is paid for in full; the pairs after an informative one were not looked at by any decision, so they
/// stay valid, independent π_ref pairs of that prompt: they are kept and tested first the next time the prompt comes up
/// (nothing paid for is thrown away, except what is left when Phase 1 ends — at most 15 pairs per prompt).
/// Allocation-free after construction, except one small buffer per prompt that ever leaves pairs over.
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
    /// Tests up to <paramref name="maxTested"/> candidate pairs at <paramref name="prompt"/>, drawing at most
    /// <paramref name="maxDrawn"/> new ones (what the caller's budget pays for), and stops at the first pair with
    /// ‖v‖²_{Σ⁻¹} &gt; <paramref name="nuSquared"/>. Pairs left over from an earlier scan of the same prompt are tested
    /// first, at no cost.
    /// </summary>
    public PairScanResult Scan(ILearnerEnvironment env, Prompt prompt, Rng rng, EllipticNorm sigma, double nuSquared, long maxTested, long maxDrawn)
    {
        int d = _d;
        var inverse = sigma.Inverse;
        long tested = 0, drawn = 0;
        int block = 1;
        _spare.TryGetValue(prompt.Index, out var spare);
        while (tested < maxTested)
        {
            int b;
            var draws = _draws.AsSpan();
            if (spare is { Count: > 0 })
            {
                b = (int)Math.Min(spare.Count, maxTested - tested);
                spare.Take(draws[..(2 * b)]);
            }
            else
            {
                b = (int)Math.Min(Math.Min(block, maxTested - tested), maxDrawn - drawn);
                if (b <= 0) break;
                env.SampleMany(prompt, rng, draws[..(2 * b)]);
                drawn += b;
                if (block < MaxBlock) block *= 2;
            }
            tested += b;
            ref double v = ref MemoryMarshal.GetArrayDataReference(_v);
            for (int j = 0; j < b; j++)
            {
                var a = env.Features(draws[2 * j]);
                var c = env.Features(draws[2 * j + 1]);
                if (a.Length < d || c.Length < d) throw new InvalidOperationException("a feature row is shorter than the dimension");
                ref double pa = ref MemoryMarshal.GetReference(a);
                ref double pc = ref MemoryMarshal.GetReference(c);
                for (int k = 0; k < d; k++) Unsafe.Add(ref v, k * MaxBlock + j) = Unsafe.Add(ref pa, k) - Unsafe.Add(ref pc, k);
            }
            QuadraticForms(inverse, d, b);
            for (int j = 0; j < b; j++)
            {
                if (_q[j] <= nuSquared) continue;
                for (int k = 0; k < d; k++) _found[k] = _v[k * MaxBlock + j];
                // The pairs after it were paid for and not looked at by any decision: keep them for this prompt's next scan.
                if (j + 1 < b)
                {
                    if (spare is null) _spare[prompt.Index] = spare = new SparePairs();
                    spare.PutBack(draws[(2 * j + 2)..(2 * b)]);
                }
                return new PairScanResult(tested - (b - j - 1), drawn, true, draws[2 * j], draws[2 * j + 1], _q[j]);
            }
        }
        return new PairScanResult(tested, drawn, false, default, default, 0);
    }

    /// <summary>Pairs not yet tested, per prompt index.</summary>
    private readonly Dictionary<int, SparePairs> _spare = [];

    /// <summary>Paid-for, untested pairs of one prompt (y, y' interleaved), oldest first; at most <see cref="MaxBlock"/> pairs.</summary>
    private sealed class SparePairs
    {
        private readonly Response[] _items = new Response[2 * MaxBlock];
        private int _length;

        public int Count => _length / 2;

        /// <summary>Moves the oldest destination.Length / 2 pairs out.</summary>
        public void Take(Span<Response> destination)
        {
            _items.AsSpan(0, destination.Length).CopyTo(destination);
            _items.AsSpan(destination.Length, _length - destination.Length).CopyTo(_items);
            _length -= destination.Length;
        }

        /// <summary>Puts pairs back in front (they are older than any spare left); beyond the capacity the newest are dropped.</summary>
        public void PutBack(ReadOnlySpan<Response> pairs)
        {
            int keep = Math.Min(pairs.Length, _items.Length);
            int old = Math.Min(_length, _items.Length - keep);
            _items.AsSpan(0, old).CopyTo(_items.AsSpan(keep));
            pairs[..keep].CopyTo(_items);
            _length = keep + old;
        }
    }

    /// <summary>q_j = v_jᵀ A v_j for the first <paramref name="count"/> pairs, A symmetric d × d:
    /// q = Σ_i v_i (A_ii v_i + 2 Σ_{k&gt;i} A_ik v_k), 8 pairs per vector.</summary>
    private void QuadraticForms(ReadOnlySpan<double> a, int d, int count)
    {
        ref double v = ref MemoryMarshal.GetArrayDataReference(_v);
        ref double q = ref MemoryMarshal.GetArrayDataReference(_q);
        ref double pa = ref MemoryMarshal.GetReference(a);
        if (a.Length < d * d) throw new ArgumentException("Σ⁻¹ is smaller than d × d", nameof(a));
        // Both 8-pair halves of a block at once (lanes past count are ignored): two independent chains of
        // multiply-adds keep the FMA units busy where one chain would wait on its own latency.
        const int W = 8;
        var acc0 = Vector512<double>.Zero;
        var acc1 = Vector512<double>.Zero;
        for (int i = 0; i < d; i++)
        {
            var v0 = Vector512.LoadUnsafe(ref v, (nuint)(i * MaxBlock));
            var v1 = Vector512.LoadUnsafe(ref v, (nuint)(i * MaxBlock + W));
            var diag = Vector512.Create(Unsafe.Add(ref pa, i * d + i));
            var t0 = v0 * diag;
            var t1 = v1 * diag;
            for (int k = i + 1; k < d; k++)
            {
                var c = Vector512.Create(2 * Unsafe.Add(ref pa, i * d + k));
                t0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref v, (nuint)(k * MaxBlock)), c, t0);
                t1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref v, (nuint)(k * MaxBlock + W)), c, t1);
            }
            acc0 = Vector512.FusedMultiplyAdd(t0, v0, acc0);
            acc1 = Vector512.FusedMultiplyAdd(t1, v1, acc1);
        }
        acc0.StoreUnsafe(ref q);
        if (count > W) acc1.StoreUnsafe(ref q, W);
    }
}
