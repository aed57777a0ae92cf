using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LmExplore.Numerics;

/// <summary>
/// The one quadratic form vᵀAv of the project, for a symmetric d × d matrix A kept row-major (Σ⁻¹ of the elliptic norm).
/// Its summation order is fixed here, once:
/// <code>
/// q = 0
/// for i = 0 … d−1:   t = v_i·A_ii;   for k = i+1 … d−1: t = fma(v_k, 2·A_ik, t);   q = fma(t, v_i, q)
/// </code>
/// i.e. q = Σ_i v_i (A_ii v_i + 2 Σ_{k&gt;i} A_ik v_k) over the upper triangle, every step a single correctly rounded
/// operation. The truncation test ‖v‖²_{Σ⁻¹} ≤ ν² is this number compared with ν², and the algorithms (the spanner's
/// test), the samplers (the truncated anchored score) and the exact laws all take it from here: a vector on the ν
/// boundary falls on the same side everywhere.
/// <para>The order involves no horizontal sum, so it does not depend on the machine's vector width, and
/// <see cref="EvaluateMany"/> — the same steps, with the vectors in SIMD lanes — is bit for bit
/// <see cref="Evaluate"/> applied to each vector. Only the upper triangle is read: a Σ⁻¹ whose rank-one updates left it
/// symmetric only up to rounding gives the same q on every path.</para>
/// </summary>
public static class QuadraticForm
{
    /// <summary>Vectors per group of <see cref="EvaluateMany"/>: two 8-lane halves, so that four multiply-add chains
    /// are in flight where one would wait on its own latency.</summary>
    internal const int Group = 16;

    /// <summary>vᵀAv in the order of the class remarks (A row-major d × d, d = v.Length; allocation-free, O(d²)).</summary>
    public static double Evaluate(ReadOnlySpan<double> matrix, ReadOnlySpan<double> v)
    {
        int d = v.Length;
        if (matrix.Length < d * d) throw new ArgumentException("the matrix is smaller than d × d", nameof(matrix));
        double q = 0;
        for (int i = 0; i < d; i++)
        {
            var row = matrix.Slice(i * d, d);
            double vi = v[i];
            double t = vi * row[i];
            for (int k = i + 1; k < d; k++) t = Math.FusedMultiplyAdd(v[k], 2 * row[k], t);
            q = Math.FusedMultiplyAdd(t, vi, q);
        }
        return q;
    }

    /// <summary>
    /// q_j = v_jᵀAv_j for j &lt; q.Length, the vectors stored coordinate-major: v_j[k] = columns[k·stride + j] — each
    /// bit for bit <see cref="Evaluate"/>(A, v_j). Lanes go <see cref="Group"/> at a time, rows i and i + 1 together (each
    /// v_k loaded once for two rows); lanes past q.Length in the last group are computed and dropped, so
    /// <paramref name="columns"/> must hold <see cref="Padded"/>(q.Length) lanes per coordinate (stride ≥ that; any
    /// values in the padding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void EvaluateMany(ReadOnlySpan<double> matrix, int d, ReadOnlySpan<double> columns, int stride, Span<double> q)
    {
        int count = q.Length;
        if (count == 0) return;
        int padded = Padded(count);
        if (matrix.Length < d * d) throw new ArgumentException("the matrix is smaller than d × d", nameof(matrix));
        if (stride < padded || columns.Length < (long)(d - 1) * stride + padded)
            throw new ArgumentException("columns must hold the padded lanes of every coordinate", nameof(columns));
        ref double pa = ref MemoryMarshal.GetReference(matrix);
        ref double pq = ref MemoryMarshal.GetReference(q);
        const int W = 8;
        for (int lane = 0; lane < count; lane += Group)
        {
            ref double v = ref Unsafe.Add(ref MemoryMarshal.GetReference(columns), lane);
            var acc0 = Vector512<double>.Zero;
            var acc1 = Vector512<double>.Zero;
            int i = 0;
            for (; i + 1 < d; i += 2)
            {
                int j = i + 1;
                var v0 = Vector512.LoadUnsafe(ref v, (nuint)(i * stride));
                var v1 = Vector512.LoadUnsafe(ref v, (nuint)(i * stride + W));
                var w0 = Vector512.LoadUnsafe(ref v, (nuint)(j * stride));
                var w1 = Vector512.LoadUnsafe(ref v, (nuint)(j * stride + W));
                var diagI = Vector512.Create(Unsafe.Add(ref pa, i * d + i));
                var diagJ = Vector512.Create(Unsafe.Add(ref pa, j * d + j));
                var cross = Vector512.Create(2 * Unsafe.Add(ref pa, i * d + j));
                // Row i: t = v_i·A_ii, then fma(v_j, 2A_ij, t); row j: s = v_j·A_jj — as Evaluate starts each row.
                var t0 = Vector512.FusedMultiplyAdd(w0, cross, v0 * diagI);
                var t1 = Vector512.FusedMultiplyAdd(w1, cross, v1 * diagI);
                var s0 = w0 * diagJ;
                var s1 = w1 * diagJ;
                for (int k = j + 1; k < d; k++)
                {
                    var vk0 = Vector512.LoadUnsafe(ref v, (nuint)(k * stride));
                    var vk1 = Vector512.LoadUnsafe(ref v, (nuint)(k * stride + W));
                    var ci = Vector512.Create(2 * Unsafe.Add(ref pa, i * d + k));
                    var cj = Vector512.Create(2 * Unsafe.Add(ref pa, j * d + k));
                    t0 = Vector512.FusedMultiplyAdd(vk0, ci, t0);
                    t1 = Vector512.FusedMultiplyAdd(vk1, ci, t1);
                    s0 = Vector512.FusedMultiplyAdd(vk0, cj, s0);
                    s1 = Vector512.FusedMultiplyAdd(vk1, cj, s1);
                }
                // q = fma(t_i, v_i, q), then fma(s_j, v_j, q): rows in Evaluate's order.
                acc0 = Vector512.FusedMultiplyAdd(s0, w0, Vector512.FusedMultiplyAdd(t0, v0, acc0));
                acc1 = Vector512.FusedMultiplyAdd(s1, w1, Vector512.FusedMultiplyAdd(t1, v1, acc1));
            }
            if (i < d)
            {
                var v0 = Vector512.LoadUnsafe(ref v, (nuint)(i * stride));
                var v1 = Vector512.LoadUnsafe(ref v, (nuint)(i * stride + W));
                var diag = Vector512.Create(Unsafe.Add(ref pa, i * d + i));
                acc0 = Vector512.FusedMultiplyAdd(v0 * diag, v0, acc0);
                acc1 = Vector512.FusedMultiplyAdd(v1 * diag, v1, acc1);
            }
            int left = count - lane;
            if (left >= Group)
            {
                acc0.StoreUnsafe(ref pq, (nuint)lane);
                acc1.StoreUnsafe(ref pq, (nuint)(lane + W));
                continue;
            }
            for (int k = 0; k < left; k++) Unsafe.Add(ref pq, lane + k) = k < W ? acc0.GetElement(k) : acc1.GetElement(k - W);
        }
    }

    /// <summary>Lanes <see cref="EvaluateMany"/> reads for <paramref name="count"/> vectors: count rounded up to a whole group.</summary>
    internal static int Padded(int count) => (count + Group - 1) / Group * Group;
}
