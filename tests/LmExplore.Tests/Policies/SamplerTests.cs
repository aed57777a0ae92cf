using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Policies;

/// <summary>
/// Sampler fidelity with fixed seeds. Distributional claims are χ² goodness-of-fit tests at the 10⁻⁶ level
/// (see <see cref="Stats.ChiSquareCritical"/>) against distributions computed exactly; every test also checks that
/// the meter was charged exactly the oracle calls the sampler reports.
/// </summary>
public class SamplerTests
{
    private static (EnumerableEnvironment Env, Meter Meter, Prompt X) Environment(double[] refProbs, long? budgetComp = null, double beta = 1.0)
    {
        var (env, meter, x, _) = PolicyFixtures.OnePrompt(refProbs, budgetComp, beta);
        return (env, meter, x);
    }

    private static double[] Target(double[] refProbs, double[] f, double beta) =>
        Stats.Softmax(refProbs.Select((p, y) => Math.Log(p) + f[y] / beta).ToArray());

    [Fact]
    public void EnvelopeSamplerIsExactWhenThePilotFindsTheTop()
    {
        double[] refProbs = [0.4, 0.25, 0.15, 0.1, 0.07, 0.03];
        double beta = 0.5;
        double[] f = [0.0, 0.2, 0.5, 0.7, 0.9, 1.0];
        var (env, meter, x) = Environment(refProbs);
        // m = 1000: the pilot misses the top response (mass 0.03) with probability 0.97^1000 ≈ 6e-14, so τ = e^{max f/β}
        // and the proposals are exact rejection sampling; N = 200 fails with probability ≤ (1 − 0.1)^200 ≈ 7e-10.
        var sampler = new EnvelopeSampler(beta, pilotSamples: 1000, maxProposals: 200);
        var rng = new Rng(101);
        var counts = new long[refProbs.Length];
        long failures = 0;
        const int draws = 20_000;
        for (int i = 0; i < draws; i++)
        {
            long before = meter.TComp;
            var d = sampler.Sample(x, env, new TableScore(f), rng);
            Assert.Equal(meter.TComp - before, d.OracleCalls);
            Assert.InRange(d.OracleCalls, sampler.PilotSamples + 1, sampler.PilotSamples + sampler.MaxProposals);
            counts[d.Response.Index]++;
            if (d.Failed) failures++;
        }
        Assert.Equal(0, failures);
        Stats.AssertFits(counts, Target(refProbs, f, beta), "EnvelopeSampler (pilot finds the top)");
        // Sanity: the target is far from π_ref, so the test can tell them apart.
        Assert.True(Stats.TotalVariation(counts, refProbs) > 0.1);
    }

    [Fact]
    public void EnvelopeSamplerForCoverage_FollowsTheDocumentedSizes()
    {
        var s = EnvelopeSampler.ForCoverage(0.1, coverage: 50, missProbability: 0.01, delta: 0.1);
        Assert.Equal((long)Math.Ceiling(50 * Math.Log(100)), s.PilotSamples);
        Assert.Equal((long)Math.Ceiling(4 * 50 * Math.Log(40)), s.MaxProposals);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EnvelopeSampler(0.1, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EnvelopeSampler(0.1, 1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => EnvelopeSampler.ForCoverage(0.1, 0.5, 0.1, 0.1));
    }

    [Fact]
    public void SirConvergesAsProposalsGrow()
    {
        double[] refProbs = [0.5, 0.2, 0.1, 0.08, 0.06, 0.04, 0.015, 0.005];
        double[] f = [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1];
        double beta = 1.0;
        var target = Target(refProbs, f, beta);
        var (env, meter, x) = Environment(refProbs);
        var tv = new Dictionary<int, double>();
        foreach (int proposals in new[] { 1, 4, 32, 256 })
        {
            var sir = new SirSampler(beta, proposals);
            var rng = new Rng(303).Split((ulong)proposals);
            var counts = new long[refProbs.Length];
            int draws = 20_000;
            for (int i = 0; i < draws; i++)
            {
                long before = meter.TComp;
                var d = sir.Sample(x, env, new TableScore(f), rng);
                Assert.Equal(proposals, d.OracleCalls);
                Assert.Equal(proposals, meter.TComp - before);
                counts[d.Response.Index]++;
            }
            tv[proposals] = Stats.TotalVariation(counts, target);
            // N = 1 returns the proposal itself: exactly π_ref.
            if (proposals == 1) Stats.AssertFits(counts, refProbs, "SIR with N = 1 is π_ref");
        }
        // SIR's bias is O(1/N); the sampling noise of 20 000 draws over 8 cells is ≈ 0.01 in TV.
        double tvRef = refProbs.Zip(target, (p, q) => Math.Abs(p - q)).Sum() / 2;
        Assert.True(Math.Abs(tv[1] - tvRef) < 0.02, $"TV at N=1: {tv[1]} vs TV(π_ref, target) = {tvRef}");
        Assert.True(tv[4] < tv[1] && tv[32] < tv[4] && tv[256] < tv[4], string.Join(", ", tv));
        Assert.True(tv[256] < 0.025, $"TV at N=256: {tv[256]}");
    }

    [Fact]
    public void ExactSamplerIsExactAndChargesTheWholeResponseSet()
    {
        double[] refProbs = [0.3, 0.3, 0.2, 0.1, 0.05, 0.03, 0.015, 0.005];
        double[] f = [0.0, -0.5, 0.4, 1.0, 0.2, 1.9, 2.5, 3.0];
        double beta = 0.7;
        // The exact sampler targets π_ref·exp(f/β) with the environment's β.
        var (env, meter, x) = Environment(refProbs, beta: beta);
        var rng = new Rng(404);
        var counts = new long[refProbs.Length];
        const int draws = 100_000;
        for (int i = 0; i < draws; i++)
        {
            long before = meter.TComp;
            var d = ExactSampler.Sample(x, env, new TableScore(f), rng);
            Assert.Equal(refProbs.Length, d.OracleCalls);
            Assert.Equal(refProbs.Length, meter.TComp - before);
            Assert.False(d.Failed);
            counts[d.Response.Index]++;
        }
        Stats.AssertFits(counts, Target(refProbs, f, beta), "ExactSampler");
    }

    [Fact]
    public void SamplersStayFiniteAtTinyBetaWithLargeScores()
    {
        const double beta = 1e-4;
        var rng = new Rng(505);
        int n = 50;
        var refProbs = Stats.Softmax(Enumerable.Range(0, n).Select(_ => 3 * rng.NextGaussian()).ToArray());
        var f = Enumerable.Range(0, n).Select(_ => 200 * rng.NextDouble() - 100).ToArray();
        int argmax = Array.IndexOf(f, f.Max());
        var (env, meter, x) = Environment(refProbs, beta: beta);
        var score = new TableScore(f);
        var envelope = EnvelopeSampler.ForCoverage(beta, coverage: 4, missProbability: 0.1, delta: 0.01);
        var sir = new SirSampler(beta, 2000);
        for (int i = 0; i < 300; i++)
        {
            long before = meter.TComp;
            var a = envelope.Sample(x, env, score, rng);
            var b = sir.Sample(x, env, score, rng);
            var c = ExactSampler.Sample(x, env, score, rng);
            Assert.InRange(a.Response.Index, 0, n - 1);
            Assert.InRange(b.Response.Index, 0, n - 1);
            Assert.Equal(a.OracleCalls + b.OracleCalls + c.OracleCalls, meter.TComp - before);
            // π* = π_ref e^{f/β}/Z is a point mass on argmax f to within e^{−(gap)/β}: the exact sampler must find it.
            Assert.Equal(argmax, c.Response.Index);
        }
    }

    [Fact]
    public void SamplersRespectTheCompBudget()
    {
        double[] refProbs = [0.5, 0.3, 0.2];
        double[] f = [0.0, 1.0, 2.0];
        var (env, meter, x) = Environment(refProbs, budgetComp: 25);
        var sampler = new EnvelopeSampler(0.01, pilotSamples: 10, maxProposals: 50);
        var rng = new Rng(606);
        Assert.Throws<BudgetExhaustedException>(() =>
        {
            for (int i = 0; i < 1000; i++) sampler.Sample(x, env, new TableScore(f), rng);
        });
        // One charge per oracle call: the budget is used up to the last allowed call and never beyond.
        Assert.Equal(25, meter.TComp);
    }
}
