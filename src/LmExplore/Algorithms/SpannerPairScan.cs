using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
/// the whole block at once: the relative features are stored coordinate-major and vᵀΣ⁻¹v is evaluated with the pairs in
/// SIMD lanes by <see cref="QuadraticForm.EvaluateMany"/> — bit for bit the <see cref="QuadraticForm"/> that
/// <see cref="EllipticNorm.NormSquared"/>, the truncated scores and the exact laws use. Blocks grow 1, 2, 4, 8, 16 pairs within
/// a scan. A block is paid for in full; the pairs after an informative one were not looked at by any decision, so they
/// stay valid, independent π_ref pairs of that prompt: they are kept and tested first the next time the prompt comes up
/// (nothing paid for is thrown away, except what is left when Phase 1 ends — at most 15 pairs per prompt).
/// Allocation-free after construction, except one small buffer per prompt that ever leaves pairs over.
/// </summary>
internal sealed class SpannerPairScan
{
    /// <summary>Largest block, in pairs: one lane group of <see cref="QuadraticForm.EvaluateMany"/>, so a block's
    /// coordinate rows (stride MaxBlock) hold the padded lanes it reads.</summary>
    public const int MaxBlock = QuadraticForm.Group;
    private readonly int _d;
    private readonly Response[] _draws = new Response[2 * MaxBlock];
    // One pinned, 64-byte-aligned block for every vector buffer: a 512-bit load or store that straddles two cache lines
    // costs about twice as much, and where the GC happened to put unaligned arrays made the same scan 11.5 or 18 ns a
    // pair (d = 4) from one process to the next. Segments (each a multiple of 64 bytes, so all aligned):
    //   v     d × MaxBlock, coordinate-major: v[k·MaxBlock + j] = v_j[k]
    //   q     MaxBlock quadratic forms
    //   rows  MaxBlock × (d rounded down to a multiple of 8), pair-major: the 8 × 8 transpose's input
    //   rows4 MaxBlock × 4: the same for a 4-coordinate remainder
    private readonly double[] _scratch;
    private readonly int _vAt, _qAt, _rowsAt, _rows4At;
    private readonly double[] _found;

    private readonly SampleLog? _log;

    /// <summary>Scratch for dimension <paramref name="dimension"/>; every pair drawn is recorded in <paramref name="log"/>
    /// if given (the scan then takes the learner's environment itself, not a recording wrapper, and saves a level of
    /// calls per response).</summary>
    public SpannerPairScan(int dimension, SampleLog? log = null)
    {
        _log = log;
        _d = dimension;
        _found = new double[dimension];
        int vLength = dimension * MaxBlock, rowsLength = MaxBlock * (dimension / 8 * 8);
        _scratch = GC.AllocateArray<double>(vLength + MaxBlock + rowsLength + 4 * MaxBlock + 7, pinned: true);
        _vAt = AlignmentOffset(_scratch);
        _qAt = _vAt + vLength;
        _rowsAt = _qAt + MaxBlock;
        _rows4At = _rowsAt + rowsLength;
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
                _log?.AddMany(draws[..(2 * b)]);
                drawn += b;
                if (block < MaxBlock) block *= 2;
            }
            tested += b;
            RelativeFeatures(env, draws, b);
            QuadraticForm.EvaluateMany(inverse, d, _scratch.AsSpan(_vAt, d * MaxBlock), MaxBlock, _scratch.AsSpan(_qAt, b));
            for (int j = 0; j < b; j++)
            {
                if (_scratch[_qAt + j] <= nuSquared) continue;
                for (int k = 0; k < d; k++) _found[k] = _scratch[_vAt + k * MaxBlock + j];
                // The pairs after it were paid for and not looked at by any decision: keep them for this prompt's next scan.
                if (j + 1 < b)
                {
                    if (spare is null) _spare[prompt.Index] = spare = new SparePairs();
                    spare.PutBack(draws[(2 * j + 2)..(2 * b)]);
                }
                return new PairScanResult(tested - (b - j - 1), drawn, true, draws[2 * j], draws[2 * j + 1], _scratch[_qAt + j]);
            }
        }
        return new PairScanResult(tested, drawn, false, default, default, 0);
    }

    /// <summary>
    /// Writes v_j = φ(y_j) − φ(y'_j) for the block's <paramref name="count"/> pairs into segment v, coordinate-major.
    /// With AVX-512 the coordinates go 8 at a time: each pair's difference is one vector per 8 coordinates (stored
    /// pair-major in segment rows), and 8 pairs' vectors are turned coordinate-major by an 8 × 8 transpose in registers
    /// (24 two-source permutes), instead of d scattered scalar stores per pair. Four coordinates left over go the same
    /// way with 256-bit vectors and a 4 × 4 transpose (all of d = 4); fewer go one by one.
    /// </summary>
    private void RelativeFeatures(ILearnerEnvironment env, ReadOnlySpan<Response> draws, int count)
    {
        int d = _d;
        int wide = Avx512F.IsSupported ? d / 8 * 8 : 0;
        bool quad = Avx.IsSupported && d - wide >= 4;   // then coordinates wide … wide + 3 go 4 at a time
        int rest = quad ? wide + 4 : wide;
        ref double scratch = ref MemoryMarshal.GetArrayDataReference(_scratch);
        ref double v = ref Unsafe.Add(ref scratch, _vAt);
        ref double rows = ref Unsafe.Add(ref scratch, _rowsAt);
        ref double rows4 = ref Unsafe.Add(ref scratch, _rows4At);
        for (int j = 0; j < count; j++)
        {
            var a = env.Features(draws[2 * j]);
            var c = env.Features(draws[2 * j + 1]);
            if (a.Length < d || c.Length < d) throw new InvalidOperationException("a feature row is shorter than the dimension");
            ref double pa = ref MemoryMarshal.GetReference(a);
            ref double pc = ref MemoryMarshal.GetReference(c);
            for (int k = 0; k < wide; k += 8)
                (Vector512.LoadUnsafe(ref pa, (nuint)k) - Vector512.LoadUnsafe(ref pc, (nuint)k)).StoreUnsafe(ref rows, (nuint)(j * wide + k));
            if (quad)
                (Vector256.LoadUnsafe(ref pa, (nuint)wide) - Vector256.LoadUnsafe(ref pc, (nuint)wide)).StoreUnsafe(ref rows4, (nuint)(4 * j));
            for (int k = rest; k < d; k++) Unsafe.Add(ref v, k * MaxBlock + j) = Unsafe.Add(ref pa, k) - Unsafe.Add(ref pc, k);
        }
        // Rows past count hold stale, finite differences: their lanes are computed and ignored.
        for (int half = 0; half * 8 < count; half++)
            for (int k = 0; k < wide; k += 8)
                Transpose8(ref Unsafe.Add(ref rows, half * 8 * wide + k), wide, ref Unsafe.Add(ref v, k * MaxBlock + half * 8));
        if (quad)
            for (int group = 0; group * 4 < count; group++)
                Transpose4(ref Unsafe.Add(ref rows4, 16 * group), ref Unsafe.Add(ref v, wide * MaxBlock + 4 * group));
    }

    /// <summary>Reads 4 rows of 4 doubles (contiguous) and writes their 4 columns as rows of stride
    /// <see cref="MaxBlock"/>: unpack within 128-bit lanes, then exchange lanes.</summary>
    private static void Transpose4(ref double source, ref double destination)
    {
        var r0 = Vector256.LoadUnsafe(ref source, 0);
        var r1 = Vector256.LoadUnsafe(ref source, 4);
        var r2 = Vector256.LoadUnsafe(ref source, 8);
        var r3 = Vector256.LoadUnsafe(ref source, 12);
        var t0 = Avx.UnpackLow(r0, r1);   // r0[0], r1[0], r0[2], r1[2]
        var t1 = Avx.UnpackHigh(r0, r1);  // r0[1], r1[1], r0[3], r1[3]
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        Avx.Permute2x128(t0, t2, 0x20).StoreUnsafe(ref destination, 0 * MaxBlock);
        Avx.Permute2x128(t1, t3, 0x20).StoreUnsafe(ref destination, 1 * MaxBlock);
        Avx.Permute2x128(t0, t2, 0x31).StoreUnsafe(ref destination, 2 * MaxBlock);
        Avx.Permute2x128(t1, t3, 0x31).StoreUnsafe(ref destination, 3 * MaxBlock);
    }

    /// <summary>Reads 8 rows of 8 doubles (row stride <paramref name="stride"/>) and writes their 8 columns as rows
    /// of stride <see cref="MaxBlock"/>: three rounds of two-source permutes (pairs at distance 1, 2, 4).</summary>
    private static void Transpose8(ref double source, int stride, ref double destination)
    {
        var r0 = Vector512.LoadUnsafe(ref source, 0);
        var r1 = Vector512.LoadUnsafe(ref source, (nuint)stride);
        var r2 = Vector512.LoadUnsafe(ref source, (nuint)(2 * stride));
        var r3 = Vector512.LoadUnsafe(ref source, (nuint)(3 * stride));
        var r4 = Vector512.LoadUnsafe(ref source, (nuint)(4 * stride));
        var r5 = Vector512.LoadUnsafe(ref source, (nuint)(5 * stride));
        var r6 = Vector512.LoadUnsafe(ref source, (nuint)(6 * stride));
        var r7 = Vector512.LoadUnsafe(ref source, (nuint)(7 * stride));
        // Round 1: a0 = (r0[0], r1[0], r0[2], r1[2], …), a1 = (r0[1], r1[1], r0[3], r1[3], …), and so on.
        var a0 = Avx512F.UnpackLow(r0, r1);
        var a1 = Avx512F.UnpackHigh(r0, r1);
        var a2 = Avx512F.UnpackLow(r2, r3);
        var a3 = Avx512F.UnpackHigh(r2, r3);
        var a4 = Avx512F.UnpackLow(r4, r5);
        var a5 = Avx512F.UnpackHigh(r4, r5);
        var a6 = Avx512F.UnpackLow(r6, r7);
        var a7 = Avx512F.UnpackHigh(r6, r7);
        // Round 2: four pairs per coordinate, b0 = (r0..r3 at coordinate 0, r0..r3 at coordinate 4), b1 at 1 and 5, …
        var lo = Vector512.Create(0L, 1, 8, 9, 4, 5, 12, 13);
        var hi = Vector512.Create(2L, 3, 10, 11, 6, 7, 14, 15);
        var b0 = Avx512F.PermuteVar8x64x2(a0, lo, a2);
        var b2 = Avx512F.PermuteVar8x64x2(a0, hi, a2);
        var b1 = Avx512F.PermuteVar8x64x2(a1, lo, a3);
        var b3 = Avx512F.PermuteVar8x64x2(a1, hi, a3);
        var b4 = Avx512F.PermuteVar8x64x2(a4, lo, a6);
        var b6 = Avx512F.PermuteVar8x64x2(a4, hi, a6);
        var b5 = Avx512F.PermuteVar8x64x2(a5, lo, a7);
        var b7 = Avx512F.PermuteVar8x64x2(a5, hi, a7);
        // Round 3: the low halves of b_k and b_{k+4} are coordinate k (k < 4), their high halves coordinate k + 4.
        var first = Vector512.Create(0L, 1, 2, 3, 8, 9, 10, 11);
        var second = Vector512.Create(4L, 5, 6, 7, 12, 13, 14, 15);
        Avx512F.PermuteVar8x64x2(b0, first, b4).StoreUnsafe(ref destination, 0 * MaxBlock);
        Avx512F.PermuteVar8x64x2(b1, first, b5).StoreUnsafe(ref destination, 1 * MaxBlock);
        Avx512F.PermuteVar8x64x2(b2, first, b6).StoreUnsafe(ref destination, 2 * MaxBlock);
        Avx512F.PermuteVar8x64x2(b3, first, b7).StoreUnsafe(ref destination, 3 * MaxBlock);
        Avx512F.PermuteVar8x64x2(b0, second, b4).StoreUnsafe(ref destination, 4 * MaxBlock);
        Avx512F.PermuteVar8x64x2(b1, second, b5).StoreUnsafe(ref destination, 5 * MaxBlock);
        Avx512F.PermuteVar8x64x2(b2, second, b6).StoreUnsafe(ref destination, 6 * MaxBlock);
        Avx512F.PermuteVar8x64x2(b3, second, b7).StoreUnsafe(ref destination, 7 * MaxBlock);
    }

    /// <summary>How many doubles into a pinned array its first 64-byte boundary lies.</summary>
    private static unsafe int AlignmentOffset(double[] pinned) =>
        (int)((64 - (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned)) % 64) % 64 / sizeof(double));

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
}
