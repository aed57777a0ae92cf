using System.Numerics.Tensors;

namespace LmExplore.Numerics;

/// <summary>
/// Ridge least squares on relative features (docs/ALGORITHMS.md):
/// θ = argmin Σ_i (⟨θ, v_i⟩ − Δr_i)² + λ‖θ‖², with v_i = φ(x,y1) − φ(x,y2) and Δr_i = r1 − r2.
/// The Gram matrix G = Σ v vᵀ and b = Σ Δr·v are kept incrementally; a solve is one d×d Cholesky.
/// </summary>
public sealed class RidgeRegression
{
    private readonly double[] _gram;      // d×d, row-major, Σ v vᵀ (without λ)
    private readonly double[] _moment;    // Σ Δr · v
    private readonly double[] _factor;    // scratch for the Cholesky factor

    /// <summary>Creates an empty regression in dimension d with ridge λ ≥ 0.</summary>
    public RidgeRegression(int dimension, double lambda)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension));
        if (!(lambda >= 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), "lambda must be finite and ≥ 0");
        Dimension = dimension;
        Lambda = lambda;
        _gram = new double[dimension * dimension];
        _moment = new double[dimension];
        _factor = new double[dimension * dimension];
    }

    /// <summary>d.</summary>
    public int Dimension { get; }
    /// <summary>λ.</summary>
    public double Lambda { get; }
    /// <summary>Number of observations added.</summary>
    public int Count { get; private set; }

    /// <summary>Adds one observation (v, Δr).</summary>
    public void Add(ReadOnlySpan<double> v, double target)
    {
        int d = Dimension;
        for (int i = 0; i < d; i++)
        {
            double vi = v[i];
            if (vi == 0) continue;
            TensorPrimitives.MultiplyAdd(v[..d], vi, _gram.AsSpan(i * d, d), _gram.AsSpan(i * d, d));
        }
        TensorPrimitives.MultiplyAdd(v[..d], target, _moment, _moment);
        Count++;
    }

    /// <summary>Writes the ridge solution (λI + G)⁻¹ b into <paramref name="theta"/>.
    /// With λ = 0 and a singular (or numerically singular, condition number above ~10¹¹) G, a jitter
    /// proportional to the largest diagonal entry of G is added instead, which returns (to ~10⁻⁶ relative) the
    /// minimum-norm least-squares solution rather than an arbitrary null-space component.</summary>
    public void Solve(Span<double> theta)
    {
        int d = Dimension;
        double jitter = Lambda;
        // λ = 0: accept the plain Cholesky factor only if no pivot falls to rounding level; otherwise the data are
        // rank-deficient and a pivot of size ~1e-16·‖G‖ would amplify rounding noise into θ's null-space component.
        double maxDiag = 0;
        for (int i = 0; i < d; i++) maxDiag = Math.Max(maxDiag, _gram[i * d + i]);
        double minPivot = Lambda > 0 ? 0 : 1e-11 * maxDiag;
        if (Lambda == 0 && maxDiag == 0) jitter = 1; // no data (or only zero vectors): b = 0, θ = 0
        while (true)
        {
            _gram.CopyTo(_factor, 0);
            for (int i = 0; i < d; i++) _factor[i * d + i] += jitter;
            if (Cholesky.Factor(_factor, d, minPivot)) break;
            // Only reachable with λ = 0 and rank-deficient data: grow the jitter until positive definite.
            jitter = jitter == 0 ? 1e-10 * maxDiag : jitter * 100;
            minPivot = 0;
        }
        _moment.CopyTo(theta);
        Cholesky.Solve(_factor, d, theta);
    }
}

/// <summary>In-place Cholesky factorization and solves for small dense SPD matrices (row-major, lower factor).</summary>
internal static class Cholesky
{
    /// <summary>Overwrites the lower triangle of <paramref name="a"/> with L (A = L Lᵀ). Returns false if A is not
    /// positive definite, or if a squared pivot is ≤ <paramref name="minPivot"/> (numerically singular).</summary>
    public static bool Factor(Span<double> a, int d, double minPivot = 0)
    {
        for (int j = 0; j < d; j++)
        {
            double s = a[j * d + j] - TensorPrimitives.Dot(a.Slice(j * d, j), a.Slice(j * d, j));
            if (!(s > minPivot)) return false;
            double ljj = Math.Sqrt(s);
            a[j * d + j] = ljj;
            for (int i = j + 1; i < d; i++)
            {
                double t = a[i * d + j] - TensorPrimitives.Dot(a.Slice(i * d, j), a.Slice(j * d, j));
                a[i * d + j] = t / ljj;
            }
        }
        return true;
    }

    /// <summary>Solves L Lᵀ x = b in place (b becomes x).</summary>
    public static void Solve(ReadOnlySpan<double> l, int d, Span<double> b)
    {
        for (int i = 0; i < d; i++)
            b[i] = (b[i] - TensorPrimitives.Dot(l.Slice(i * d, i), b[..i])) / l[i * d + i];
        for (int i = d - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int k = i + 1; k < d; k++) s -= l[k * d + i] * b[k];
            b[i] = s / l[i * d + i];
        }
    }

    /// <summary>Writes A⁻¹ (full, symmetric) given the factor L of A.</summary>
    public static void Invert(ReadOnlySpan<double> l, int d, Span<double> inverse)
    {
        Span<double> column = d <= 256 ? stackalloc double[d] : new double[d];
        for (int j = 0; j < d; j++)
        {
            column.Clear();
            column[j] = 1;
            Solve(l, d, column);
            for (int i = 0; i < d; i++) inverse[i * d + j] = column[i];
        }
    }
}
