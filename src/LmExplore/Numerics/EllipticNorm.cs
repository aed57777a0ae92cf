using System.Numerics.Tensors;

namespace LmExplore.Numerics;

/// <summary>
/// The elliptic norm ‖v‖_{Σ⁻¹} = sqrt(vᵀ Σ⁻¹ v) with Σ = λI + Σ_i v_i v_iᵀ (docs/ALGORITHMS.md).
/// Σ⁻¹ is kept by Sherman–Morrison rank-one updates, O(d²) each; every
/// <see cref="RefactorEvery"/> updates it is recomputed from Σ by Cholesky so that rounding drift
/// cannot accumulate.
/// </summary>
public sealed class EllipticNorm
{
    private readonly double[] _sigma;     // Σ, row-major
    private readonly double[] _inverse;   // Σ⁻¹, row-major
    private readonly double[] _scratch;   // d
    private readonly double[] _factor;    // d×d scratch for re-factorization
    private int _updatesSinceRefactor;

    /// <summary>Starts from Σ = λI (λ &gt; 0).</summary>
    public EllipticNorm(int dimension, double lambda, int refactorEvery = 64)
    {
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension));
        if (!(lambda > 0) || double.IsInfinity(lambda)) throw new ArgumentOutOfRangeException(nameof(lambda), "lambda must be positive and finite");
        if (refactorEvery <= 0) throw new ArgumentOutOfRangeException(nameof(refactorEvery));
        Dimension = dimension;
        Lambda = lambda;
        RefactorEvery = refactorEvery;
        _sigma = new double[dimension * dimension];
        _inverse = new double[dimension * dimension];
        _scratch = new double[dimension];
        _factor = new double[dimension * dimension];
        for (int i = 0; i < dimension; i++)
        {
            _sigma[i * dimension + i] = lambda;
            _inverse[i * dimension + i] = 1 / lambda;
        }
    }

    /// <summary>d.</summary>
    public int Dimension { get; }
    /// <summary>λ.</summary>
    public double Lambda { get; }
    /// <summary>Rank-one updates between exact re-factorizations.</summary>
    public int RefactorEvery { get; }
    /// <summary>Number of vectors added.</summary>
    public int Count { get; private set; }
    /// <summary>Σ⁻¹ (row-major d×d), read-only view.</summary>
    public ReadOnlySpan<double> Inverse => _inverse;

    /// <summary>vᵀ Σ⁻¹ v by <see cref="QuadraticForm"/>, the order every truncation test uses. Allocation-free, O(d²).</summary>
    public double NormSquared(ReadOnlySpan<double> v) => QuadraticForm.Evaluate(_inverse, v[..Dimension]);

    /// <summary>‖v‖_{Σ⁻¹}.</summary>
    public double Norm(ReadOnlySpan<double> v) => Math.Sqrt(Math.Max(0, NormSquared(v)));

    /// <summary>Σ ← Σ + v vᵀ, with Σ⁻¹ updated by Sherman–Morrison.</summary>
    public void Add(ReadOnlySpan<double> v)
    {
        int d = Dimension;
        for (int i = 0; i < d; i++)
        {
            double vi = v[i];
            if (vi != 0) TensorPrimitives.MultiplyAdd(v[..d], vi, _sigma.AsSpan(i * d, d), _sigma.AsSpan(i * d, d));
        }
        Count++;
        if (++_updatesSinceRefactor >= RefactorEvery)
        {
            Refactor();
            return;
        }
        // u = Σ⁻¹v; Σ⁻¹ ← Σ⁻¹ − u uᵀ / (1 + vᵀu).
        var u = _scratch.AsSpan();
        for (int i = 0; i < d; i++) u[i] = VectorMath.Dot(new ReadOnlySpan<double>(_inverse, i * d, d), v[..d]);
        double denom = 1 + TensorPrimitives.Dot(v[..d], u);
        for (int i = 0; i < d; i++)
            TensorPrimitives.MultiplyAdd(u, -u[i] / denom, _inverse.AsSpan(i * d, d), _inverse.AsSpan(i * d, d));
    }

    /// <summary>Recomputes Σ⁻¹ from Σ exactly (Cholesky).</summary>
    public void Refactor()
    {
        _sigma.CopyTo(_factor, 0);
        if (!Cholesky.Factor(_factor, Dimension))
            throw new InvalidOperationException("Σ lost positive definiteness (non-finite input?)");
        Cholesky.Invert(_factor, Dimension, _inverse);
        _updatesSinceRefactor = 0;
    }
}
