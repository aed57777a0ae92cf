using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Tests.Support;

/// <summary>How π_ref(·|x) is drawn for a random test instance.</summary>
public enum RefShape
{
    /// <summary>Uniform Dirichlet-like weights (exponential draws).</summary>
    Random,
    /// <summary>Zipf: π_ref ∝ 1/rank^s with s = 1.1, ranks randomly permuted (LM-like heavy tail).</summary>
    Zipf,
    /// <summary>Log-normal logits with σ = 4: masses span many orders of magnitude.</summary>
    LogNormal,
}

/// <summary>Builds random <see cref="EnumerableInstance"/> objects directly (no generator, no JSON), so the
/// core can be tested without the Instances work.</summary>
public static class TestInstances
{
    /// <summary>A random linear-softmax instance: unit-norm features, ‖θ*‖ = <paramref name="thetaNorm"/>,
    /// random prompt weights, π_ref of the given shape.</summary>
    public static EnumerableInstance Random(ulong seed, int prompts, int responses, int d, double beta,
        double thetaNorm, RefShape shape = RefShape.Zipf, double rewardOffset = 0)
    {
        var rng = new Rng(seed);
        var theta = UnitVector(rng, d);
        for (int k = 0; k < d; k++) theta[k] *= thetaNorm;
        // A constant last coordinate shifts all rewards by rewardOffset (keeps J_ref away from 0 so that
        // relative comparisons are meaningful).
        if (rewardOffset != 0) theta[d - 1] = rewardOffset;
        var weights = new double[prompts];
        for (int x = 0; x < prompts; x++) weights[x] = -Math.Log(rng.NextDoubleOpenZero());
        double wsum = weights.Sum();
        var list = new List<EnumerablePrompt>();
        for (int x = 0; x < prompts; x++)
        {
            var logRef = RefLogProbs(rng, responses, shape);
            var features = new double[responses * d];
            for (int y = 0; y < responses; y++)
            {
                var u = UnitVector(rng, rewardOffset != 0 ? d - 1 : d);
                u.CopyTo(features, y * d);
                if (rewardOffset != 0) features[y * d + d - 1] = 1;
            }
            list.Add(new EnumerablePrompt(weights[x] / wsum, logRef, features, d, theta));
        }
        return new EnumerableInstance($"test-random-{seed}", beta, theta, NoiseModel.None, list);
    }

    /// <summary>A needle instance (docs/FORMATS.md): per prompt one response with feature u and reference mass q, the rest
    /// zero features; θ* = R·u, so C_cov(π*) = e^{R/β}/(1 − q + q·e^{R/β}).</summary>
    public static EnumerableInstance Needle(ulong seed, int prompts, int responses, int d, double beta, double reward, double q)
    {
        var rng = new Rng(seed);
        var u = UnitVector(rng, d);
        var theta = u.Select(v => v * reward).ToArray();
        var list = new List<EnumerablePrompt>();
        for (int x = 0; x < prompts; x++)
        {
            int needle = rng.NextInt(responses);
            var logRef = new double[responses];
            double rest = Math.Log((1 - q) / (responses - 1));
            for (int y = 0; y < responses; y++) logRef[y] = y == needle ? Math.Log(q) : rest;
            var features = new double[responses * d];
            u.CopyTo(features, needle * d);
            list.Add(new EnumerablePrompt(1.0 / prompts, logRef, features, d, theta));
        }
        return new EnumerableInstance($"test-needle-{seed}", beta, theta, NoiseModel.None, list);
    }

    /// <summary>Normalized log-probabilities of the requested shape.</summary>
    public static double[] RefLogProbs(Rng rng, int n, RefShape shape)
    {
        var logits = new double[n];
        switch (shape)
        {
            case RefShape.Random:
                for (int i = 0; i < n; i++) logits[i] = Math.Log(-Math.Log(rng.NextDoubleOpenZero()));
                break;
            case RefShape.Zipf:
                var perm = Permutation(rng, n);
                for (int i = 0; i < n; i++) logits[perm[i]] = -1.1 * Math.Log(i + 1);
                break;
            case RefShape.LogNormal:
                for (int i = 0; i < n; i++) logits[i] = 4 * rng.NextGaussian();
                break;
        }
        double lse = LogMath.LogSumExp(logits);
        for (int i = 0; i < n; i++) logits[i] -= lse;
        return logits;
    }

    /// <summary>A uniformly random unit vector.</summary>
    public static double[] UnitVector(Rng rng, int d)
    {
        var v = new double[d];
        double norm;
        do
        {
            for (int k = 0; k < d; k++) v[k] = rng.NextGaussian();
            norm = Math.Sqrt(v.Sum(t => t * t));
        } while (norm < 1e-8);
        for (int k = 0; k < d; k++) v[k] /= norm;
        return v;
    }

    /// <summary>A uniformly random permutation (Fisher–Yates).</summary>
    public static int[] Permutation(Rng rng, int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (p[i], p[j]) = (p[j], p[i]);
        }
        return p;
    }

    /// <summary>A random tabular policy: logits = log π_ref + scale·Gaussian, normalized (full support).</summary>
    public static double[][] RandomPolicyLogProbs(EnumerableInstance instance, Rng rng, double scale)
    {
        var result = new double[instance.Prompts.Count][];
        for (int x = 0; x < result.Length; x++)
        {
            var p = instance.Prompts[x];
            var logits = new double[p.ResponseCount];
            for (int y = 0; y < logits.Length; y++) logits[y] = p.LogRefProbs[y] + scale * rng.NextGaussian();
            double lse = LogMath.LogSumExp(logits);
            for (int y = 0; y < logits.Length; y++) logits[y] -= lse;
            result[x] = logits;
        }
        return result;
    }

    /// <summary>Asserts |actual − expected| ≤ rel·|expected| with a readable message.</summary>
    public static void AssertRelative(double expected, double actual, double rel, string what)
    {
        Assert.True(double.IsFinite(actual), $"{what}: not finite ({actual})");
        double err = Math.Abs(actual - expected);
        Assert.True(err <= rel * Math.Abs(expected),
            $"{what}: expected {expected:R}, got {actual:R}, relative error {err / Math.Abs(expected):E3} > {rel:E1}");
    }
}
