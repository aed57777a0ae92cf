using CsCheck;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Evaluation;

/// <summary>
/// The DP evaluator of token-level policies (<see cref="TokenPolicyEvaluator"/>) against brute-force enumeration of
/// all V^H responses, against the enumerable evaluator on the sequence-level view, and the identity
/// J_opt − J = β·KL(q ‖ π*).
/// </summary>
public class TokenEvaluatorTests
{
    private static readonly Gen<(int V, int H, int S, int d, double Beta, ulong Seed, bool Truncate)> Cases =
        Gen.Select(Gen.Int[2, 3], Gen.Int[1, 4], Gen.Int[1, 3], Gen.Int[1, 2], Gen.Double[0.1, 2], Gen.ULong, Gen.Bool);

    /// <summary>A token-level policy of one of two kinds: a plain linear softmax, or MTSS's truncated anchored sampler
    /// with small pilots (so caps and failure branches matter).</summary>
    private static TokenLaw RandomLaw(AutoregressiveInstance inst, ulong seed, bool truncatedSampler)
    {
        var thetas = TokenFixtures.RandomThetas(inst, seed);
        if (!truncatedSampler) return TokenPolicyEvaluator.SoftmaxLaw(inst, thetas);
        int D = TokenFeatures.Dimension(inst);
        var rng = new Rng(seed).Split("sigma");
        var policy = new TruncatedTokenPolicy(inst.Horizon, D, inst.Beta, nu: 0.7, useDistributions: false);
        for (int h = 1; h <= inst.Horizon; h++)
        {
            var sigmaInverse = new double[D * D];
            for (int i = 0; i < D; i++) sigmaInverse[i * D + i] = 0.3 + 3 * rng.NextDouble();
            policy.SetLayer(h, thetas[h - 1], sigmaInverse, new TokenSamplerSize(1 + rng.NextInt(3), 1 + rng.NextInt(4)));
        }
        return policy.Law(inst);
    }

    [Fact]
    public void Dp_AgreesWithBruteForceEnumeration()
    {
        Cases.Sample(c =>
        {
            var inst = TokenFixtures.Random(c.V, c.H, c.S, c.d, c.Beta, c.Seed);
            var law = RandomLaw(inst, c.Seed ^ 0x5eed, c.Truncate);
            var dp = TokenPolicyEvaluator.Evaluate(inst, law);
            double j = 0, reward = 0, kl = 0, total = 0;
            for (int x = 0; x < inst.Prompts.Count; x++)
                foreach (var (_, lp, lr, r) in TokenFixtures.Enumerate(inst, law.LogProbs, x))
                {
                    if (double.IsNegativeInfinity(lp)) continue;
                    double p = Math.Exp(lp) * inst.Prompts[x].Weight;
                    total += p;
                    reward += p * r;
                    kl += p * (lp - lr);
                    j += p * (r - inst.Beta * (lp - lr));
                }
            Assert.Equal(1, total, 1e-9);
            Assert.Equal(reward, dp.ExpectedReward, 1e-9);
            Assert.Equal(kl, dp.KlToRef, 1e-9);
            Assert.Equal(j, dp.J, 1e-9);
            // J_β(π*) − J_β(q) = β·KL(q ‖ π*), with J_β(π*) by the instance's own DP.
            Assert.Equal(AutoregressiveEvaluator.OptimalValue(inst) - dp.J, inst.Beta * dp.KlToOptimal, 1e-9);
        }, iter: 60);
    }

    [Fact]
    public void Dp_AgreesWithTheEnumerableEvaluatorOnTheSequenceLevelView()
    {
        Cases.Sample(c =>
        {
            var inst = TokenFixtures.Random(c.V, c.H, c.S, c.d, c.Beta, c.Seed);
            var law = RandomLaw(inst, c.Seed ^ 0xface, c.Truncate);
            var enumerable = inst.ToEnumerable();
            var rows = new double[inst.Prompts.Count][];
            for (int x = 0; x < rows.Length; x++)
                rows[x] = TokenFixtures.Enumerate(inst, law.LogProbs, x).Select(e => e.LogP).ToArray();   // same index order as ToEnumerable
            var tabular = new TabularPolicy(rows);
            var dp = TokenPolicyEvaluator.Evaluate(inst, law);
            Assert.Equal(ExactEvaluator.Value(enumerable, tabular), dp.J, 1e-9);
            Assert.Equal(EnumerableOutputEvaluator.ExpectedReward(enumerable, tabular), dp.ExpectedReward, 1e-9);
            Assert.Equal(ExactEvaluator.OptimalValue(enumerable), AutoregressiveEvaluator.OptimalValue(inst), 1e-9);
        }, iter: 40);
    }

    [Fact]
    public void OptimalTokenPolicy_HasZeroSuboptimality()
    {
        // θ_h = [θ*, L_h·β] reproduces π* exactly: Q_h(s,a) = r(s,a) + V_h(T(s,a)).
        var inst = TokenFixtures.Random(3, 5, 3, 2, 0.3, 7);
        var logValues = AutoregressiveEvaluator.LogValueTable(inst);
        int S = inst.States, d = inst.Dimension;
        var thetas = Enumerable.Range(1, inst.Horizon).Select(h =>
        {
            var t = new double[d + S];
            inst.Theta.CopyTo(t, 0);
            for (int s = 0; s < S; s++) t[d + s] = inst.Beta * logValues[h * S + s];
            return t;
        }).ToArray();
        var dp = TokenPolicyEvaluator.Evaluate(inst, TokenPolicyEvaluator.SoftmaxLaw(inst, thetas));
        Assert.Equal(AutoregressiveEvaluator.OptimalValue(inst), dp.J, 1e-10);
        Assert.InRange(dp.KlToOptimal, -1e-12, 1e-12);
    }

    [Fact]
    public void Dp_IsFastFarBeyondEnumeration()
    {
        // V = 50, H = 64 (50^64 responses): the law of the truncated sampler and its value in well under the test budget.
        var inst = TokenFixtures.Random(50, 64, 8, 4, 0.2, 3, scale: 0.3);
        int D = TokenFeatures.Dimension(inst);
        var policy = new TruncatedTokenPolicy(inst.Horizon, D, inst.Beta, 0.5, useDistributions: false);
        var thetas = TokenFixtures.RandomThetas(inst, 4, 0.2);
        var sigmaInverse = new double[D * D];
        for (int i = 0; i < D; i++) sigmaInverse[i * D + i] = 0.2;
        for (int h = 1; h <= inst.Horizon; h++) policy.SetLayer(h, thetas[h - 1], sigmaInverse, new TokenSamplerSize(20, 40));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var value = TokenPolicyEvaluator.Evaluate(inst, policy.Law(inst));
        Assert.True(clock.Elapsed.TotalSeconds < 10, $"took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(double.IsFinite(value.J));
        Assert.True(AutoregressiveEvaluator.OptimalValue(inst) - value.J >= -1e-9);
    }
}
