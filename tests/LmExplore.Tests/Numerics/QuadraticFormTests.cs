using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Numerics;

/// <summary>
/// The one quadratic form (<see cref="QuadraticForm"/>): it equals a plain double loop over all d² terms to 1e-12 on
/// random SPD matrices, and every other path to it — the SIMD lanes of <see cref="QuadraticForm.EvaluateMany"/>,
/// <see cref="EllipticNorm.NormSquared"/>, the spanner's pair scan — gives the very same bits.
/// </summary>
public class QuadraticFormTests
{
    /// <summary>A = BBᵀ/d + 0.05·I with Gaussian B: SPD, with off-diagonal terms of both signs.</summary>
    internal static double[] RandomSpd(Rng rng, int d)
    {
        var b = new double[d * d];
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextGaussian();
        var a = new double[d * d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double s = 0;
                for (int k = 0; k < d; k++) s += b[i * d + k] * b[j * d + k];
                a[i * d + j] = s / d + (i == j ? 0.05 : 0);
            }
        return a;
    }

    /// <summary>Gaussian entries, about one in five exactly 0 (relative features of responses that share coordinates).</summary>
    private static double[] RandomVector(Rng rng, int d) =>
        Enumerable.Range(0, d).Select(_ => rng.NextDouble() < 0.2 ? 0.0 : rng.NextGaussian()).ToArray();

    [Fact]
    public void Evaluate_EqualsThePlainDoubleLoop_OnRandomSpdMatrices()
    {
        var rng = new Rng(31);
        for (int d = 1; d <= 40; d++)
            for (int rep = 0; rep < 5; rep++)
            {
                var a = RandomSpd(rng, d);
                var v = RandomVector(rng, d);
                double naive = 0, scale = 0;
                for (int i = 0; i < d; i++)
                    for (int j = 0; j < d; j++)
                    {
                        naive += v[i] * a[i * d + j] * v[j];
                        scale += Math.Abs(v[i] * a[i * d + j] * v[j]);
                    }
                double q = QuadraticForm.Evaluate(a, v);
                Assert.True(Math.Abs(q - naive) <= 1e-12 * Math.Max(scale, 1e-300), $"d = {d}: kernel {q:R}, double loop {naive:R}");
                Assert.True(q >= 0, $"d = {d}: an SPD form came out negative ({q:R})");
            }
        Assert.Equal(0.0, QuadraticForm.Evaluate([], []));
        Assert.Throws<ArgumentException>(() => QuadraticForm.Evaluate(new double[3], new double[2]));
    }

    [Fact]
    public void EvaluateMany_IsEvaluateBitForBit_ForEveryDimensionAndLaneCount()
    {
        var rng = new Rng(32);
        for (int d = 1; d <= 40; d++)
        {
            // Symmetric only up to rounding, as Σ⁻¹ after Sherman–Morrison updates: the lower triangle must not matter.
            var a = RandomSpd(rng, d);
            for (int i = 0; i < d; i++)
                for (int j = 0; j < i; j++) a[i * d + j] = Math.BitIncrement(a[i * d + j]);
            foreach (int count in new[] { 1, 3, 8, 9, 15, 16, 17, 31, 33, 40 })
            {
                int stride = QuadraticForm.Padded(count) + (count % 3);      // any stride that holds the padded lanes
                var columns = new double[(d - 1) * stride + QuadraticForm.Padded(count)];
                for (int i = 0; i < columns.Length; i++) columns[i] = double.NaN;   // padding is computed and dropped
                var vectors = new double[count][];
                for (int j = 0; j < count; j++)
                {
                    vectors[j] = RandomVector(rng, d);
                    for (int k = 0; k < d; k++) columns[k * stride + j] = vectors[j][k];
                }
                var q = new double[count + 1];
                q[count] = -7;
                QuadraticForm.EvaluateMany(a, d, columns, stride, q.AsSpan(0, count));
                for (int j = 0; j < count; j++)
                    Assert.True(BitConverter.DoubleToInt64Bits(q[j]) == BitConverter.DoubleToInt64Bits(QuadraticForm.Evaluate(a, vectors[j])),
                        $"d = {d}, {count} lanes, lane {j}: many {q[j]:R}, one {QuadraticForm.Evaluate(a, vectors[j]):R}");
                Assert.Equal(-7, q[count]);                                  // nothing written past the lanes asked for
            }
        }
    }

    [Fact]
    public void EllipticNormAndThePairScan_UseTheKernelsBits()
    {
        // Σ⁻¹ after Sherman–Morrison updates (not exactly symmetric): NormSquared, the kernel and the scan's q agree exactly.
        foreach (int d in new[] { 1, 2, 3, 4, 5, 8, 13, 16, 19, 40 })
        {
            var rng = new Rng(33).Split((ulong)d);
            var norm = new EllipticNorm(d, 0.1);
            for (int t = 0; t < 3 * d; t++) norm.Add(RandomVector(rng, d));
            for (int rep = 0; rep < 20; rep++)
            {
                var v = RandomVector(rng, d);
                Assert.Equal(BitConverter.DoubleToInt64Bits(QuadraticForm.Evaluate(norm.Inverse, v)), BitConverter.DoubleToInt64Bits(norm.NormSquared(v)));
            }
            var instance = InstanceCatalog.Create("linear", new Dictionary<string, string> { ["prompts"] = "2", ["responses"] = "50", ["d"] = $"{d}" }, 4);
            var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
            var scan = new SpannerPairScan(d);
            for (int i = 0; i < 50; i++)
            {
                var x = env.DrawPrompt(rng);
                var found = scan.Scan(env, x, rng, norm, 0, 40, 40);           // ν² = 0: the first pair with v ≠ 0 passes
                if (!found.Informative) continue;
                Assert.Equal(BitConverter.DoubleToInt64Bits(norm.NormSquared(scan.FoundFeature)), BitConverter.DoubleToInt64Bits(found.NormSquared));
            }
        }
    }
}
