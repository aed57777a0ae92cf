using LmExplore.Numerics;
using MathNet.Numerics.LinearAlgebra;

namespace LmExplore.Tests.Numerics;

/// <summary>Ridge regression and the elliptic norm against direct dense solves (MathNet.Numerics as the reference).</summary>
public class LinearAlgebraTests
{
    private static double[] RandomVector(Rng rng, int d, double scale) =>
        Enumerable.Range(0, d).Select(_ => scale * rng.NextGaussian()).ToArray();

    [Theory]
    [InlineData(4, 50, 0.1)]
    [InlineData(16, 400, 1e-3)]
    [InlineData(8, 30, 0.0)]
    [InlineData(64, 300, 1.0)]
    public void RidgeMatchesADirectSolve(int d, int n, double lambda)
    {
        var rng = new Rng((ulong)(d * 1000 + n));
        var ridge = new RidgeRegression(d, lambda);
        var a = Matrix<double>.Build.DenseIdentity(d) * lambda;
        var b = Vector<double>.Build.Dense(d);
        var thetaTrue = RandomVector(rng, d, 1);
        for (int i = 0; i < n; i++)
        {
            var v = RandomVector(rng, d, 0.5);
            double target = v.Zip(thetaTrue, (p, q) => p * q).Sum() + 0.1 * rng.NextGaussian();
            ridge.Add(v, target);
            var vv = Vector<double>.Build.DenseOfArray(v);
            a += vv.OuterProduct(vv);
            b += vv * target;
        }
        Assert.Equal(n, ridge.Count);
        var expected = a.Solve(b);
        var theta = new double[d];
        ridge.Solve(theta);
        double err = (Vector<double>.Build.DenseOfArray(theta) - expected).L2Norm();
        Assert.True(err <= 1e-10 * expected.L2Norm(), $"ridge solution differs from the dense solve by {err:E2} (relative to {expected.L2Norm():E2})");
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(1e3)]   // a large Gram matrix: a fixed absolute jitter would be below rounding noise
    [InlineData(1e-3)]
    public void RidgeWithZeroLambdaOnSingularDataDoesNotBlowUp(double scale)
    {
        // d = 6 but every v lies in a 3-dimensional subspace: G is singular, λ = 0.
        const int d = 6, rank = 3, n = 200;
        var rng = new Rng(99);
        var basis = Enumerable.Range(0, rank).Select(_ => RandomVector(rng, d, 1)).ToArray();
        var thetaTrue = RandomVector(rng, d, 1);
        var ridge = new RidgeRegression(d, 0);
        var rows = new List<double[]>();
        var targets = new List<double>();
        for (int i = 0; i < n; i++)
        {
            var z = RandomVector(rng, rank, scale);
            var v = new double[d];
            for (int k = 0; k < rank; k++) for (int j = 0; j < d; j++) v[j] += z[k] * basis[k][j];
            double target = v.Zip(thetaTrue, (p, q) => p * q).Sum() + 0.01 * scale * rng.NextGaussian();
            ridge.Add(v, target);
            rows.Add(v);
            targets.Add(target);
        }
        var theta = new double[d];
        ridge.Solve(theta);
        Assert.All(theta, t => Assert.True(double.IsFinite(t)));
        // Reference: the minimum-norm least-squares solution via the pseudo-inverse.
        var vMat = Matrix<double>.Build.DenseOfRowArrays(rows);
        var y = Vector<double>.Build.DenseOfEnumerable(targets);
        var thetaMin = vMat.PseudoInverse() * y;
        var fitted = vMat * Vector<double>.Build.DenseOfArray(theta);
        var fittedMin = vMat * thetaMin;
        double fitErr = (fitted - fittedMin).L2Norm() / fittedMin.L2Norm();
        Assert.True(fitErr <= 1e-6, $"fitted values differ from least squares by {fitErr:E2} (relative)");
        // 'Does not blow up': the null-space component stays small — ‖θ‖ within 1% of the minimum norm.
        double norm = Vector<double>.Build.DenseOfArray(theta).L2Norm();
        Assert.True(norm <= 1.01 * thetaMin.L2Norm(), $"‖θ‖ = {norm:E3} vs min-norm {thetaMin.L2Norm():E3}");
    }

    [Fact]
    public void RidgeWithNoDataReturnsZero()
    {
        var theta = new double[3] { 1, 2, 3 };
        new RidgeRegression(3, 0).Solve(theta);
        Assert.All(theta, t => Assert.Equal(0.0, t));
        new RidgeRegression(3, 0.5).Solve(theta);
        Assert.All(theta, t => Assert.Equal(0.0, t));
    }

    [Theory]
    [InlineData(6, 0.5, 300, 64, 1.0)]
    [InlineData(64, 0.1, 300, 64, 1.0)]
    [InlineData(16, 1e-3, 500, 64, 2.0)]
    [InlineData(8, 1.0, 200, 1, 1.0)]
    [InlineData(16, 0.1, 400, 64, 30.0)]   // large vectors: Σ's eigenvalues span 10⁻¹…10⁵
    public void EllipticNormMatchesADirectInverse(int d, double lambda, int updates, int refactorEvery, double scale)
    {
        var rng = new Rng((ulong)(d * 7919 + updates));
        var norm = new EllipticNorm(d, lambda, refactorEvery);
        var sigma = Matrix<double>.Build.DenseIdentity(d) * lambda;
        var probes = Enumerable.Range(0, 10).Select(_ => RandomVector(rng, d, 1)).ToList();
        for (int t = 1; t <= updates; t++)
        {
            // Anisotropic updates (some directions rarely seen), like differences of features from a skewed π_ref.
            var v = RandomVector(rng, d, scale);
            for (int j = 0; j < d; j++) v[j] *= Math.Pow(0.7, j % 8);
            norm.Add(v);
            var vv = Vector<double>.Build.DenseOfArray(v);
            sigma += vv.OuterProduct(vv);
            if (t % 37 == 0 || t == updates)
            {
                var chol = sigma.Cholesky();
                foreach (var p in probes.Append(v))
                {
                    var pv = Vector<double>.Build.DenseOfArray(p);
                    double expected = pv.DotProduct(chol.Solve(pv));
                    double actual = norm.NormSquared(p);
                    Assert.True(Math.Abs(actual - expected) <= 1e-9 * expected,
                        $"after {t} updates: vᵀΣ⁻¹v = {actual:R}, direct {expected:R}, rel err {Math.Abs(actual - expected) / expected:E2}");
                    Assert.Equal(Math.Sqrt(expected), norm.Norm(p), 1e-9 * Math.Sqrt(expected) + 1e-300);
                }
            }
        }
        Assert.Equal(updates, norm.Count);
    }

    [Fact]
    public void EllipticNormRejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EllipticNorm(3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EllipticNorm(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RidgeRegression(3, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RidgeRegression(3, double.NaN));
        var n = new EllipticNorm(2, 0.25);
        Assert.Equal(4.0 * 2, n.NormSquared([1.0, 1.0]), 12); // Σ = λI
    }
}

/// <summary>The SIMD kernels against plain loops and TensorPrimitives.</summary>
public class VectorMathTests
{
    [Fact]
    public void KernelsAgreeWithReferenceLoops()
    {
        var rng = new Rng(4242);
        for (int n = 0; n <= 70; n++)
        {
            var a = Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray();
            var b = Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray();
            double expected = IndependentEvaluator.CompensatedDot(a, b);
            double scale = a.Zip(b, (p, q) => Math.Abs(p * q)).Sum();
            double actual = VectorMath.Dot(a, b);
            Assert.True(Math.Abs(actual - expected) <= 1e-14 * Math.Max(scale, 1e-300) + 1e-300, $"Dot length {n}");
        }
        foreach (int d in new[] { 1, 3, 4, 7, 8, 16, 17, 64, 65, 300 })
        {
            var m = new double[d * d];
            for (int i = 0; i < d; i++)
                for (int j = 0; j <= i; j++) m[i * d + j] = m[j * d + i] = rng.NextGaussian();
            var v = Enumerable.Range(0, d).Select(k => k % 5 == 2 ? 0.0 : rng.NextGaussian()).ToArray();
            var y = new double[d];
            VectorMath.MatVec(m, v, y);
            for (int i = 0; i < d; i++) Assert.Equal(IndependentEvaluator.CompensatedDot(m.AsSpan(i * d, d), v), y[i], 1e-12);
        }
        Assert.Throws<ArgumentException>(() => VectorMath.Dot([1.0, 2.0], [1.0]));
    }
}
