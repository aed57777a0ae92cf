using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LmExplore.Numerics;

/// <summary>
/// Short-vector kernels for the hot loops (d ≈ 4…64): inlined SIMD dot products without the per-call dispatch of
/// <see cref="System.Numerics.Tensors.TensorPrimitives"/>, which dominates at these lengths. The summation order
/// is fixed by the vector width of the machine (as it is for TensorPrimitives), so results are deterministic on a
/// given machine and agree with any other order to a few ulps.
/// </summary>
public static class VectorMath
{
    /// <summary>⟨a, b⟩ over the first a.Length entries (b must be at least as long).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        int n = a.Length;
        if ((uint)b.Length < (uint)n) ThrowLength();
        ref double pa = ref MemoryMarshal.GetReference(a);
        ref double pb = ref MemoryMarshal.GetReference(b);
        int i = 0;
        double s = 0;
        if (Vector512.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector512<double>.Zero;
            for (; i <= n - 8; i += 8)
                acc = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref pa, (nuint)i), Vector512.LoadUnsafe(ref pb, (nuint)i), acc);
            s = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 4)
        {
            var acc = Vector256<double>.Zero;
            for (; i <= n - 4; i += 4)
                acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i), acc);
            s = Vector256.Sum(acc);
        }
        for (; i < n; i++) s += Unsafe.Add(ref pa, i) * Unsafe.Add(ref pb, i);
        return s;
    }

    /// <summary>y = A x for a row-major n × d matrix A (n = y.Length, d = x.Length): e.g. all rewards
    /// r*(x,·) = Φ θ* of a prompt from its contiguous feature matrix.</summary>
    public static void MatVec(ReadOnlySpan<double> matrix, ReadOnlySpan<double> x, Span<double> y)
    {
        int d = x.Length;
        if (matrix.Length < (long)y.Length * d) ThrowLength();
        for (int r = 0; r < y.Length; r++) y[r] = Dot(matrix.Slice(r * d, d), x);
    }

    private static void ThrowLength() => throw new ArgumentException("vector lengths do not match");
}
