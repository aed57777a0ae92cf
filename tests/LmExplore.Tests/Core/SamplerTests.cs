using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Core;

/// <summary>A score given as a table f(y).</summary>
internal readonly struct TableScore(double[] f) : IResponseScore<int>
{
    public double Score(int response) => f[response];
}

/// <summary>
/// Sampler fidelity with fixed seeds. Distributional claims are χ² goodness-of-fit tests at the 10⁻⁶ level
/// (see <see cref="Stats.ChiSquareCritical"/>) against distributions computed exactly; every test also checks that
/// the meter was charged exactly the oracle calls the sampler reports.
/// </summary>
public class SamplerTests
{
    /// <summary>A one-prompt environment over π_ref = softmax(logRef) (features unused by these tests).</summary>
    private static (EnumerableEnvironment Env, Meter Meter) Environment(double[] refProbs, long? budgetComp = null, double beta = 1.0)
    {
        var logRef = refProbs.Select(p => Math.Log(p)).ToArray();
        var prompt = new EnumerablePrompt(1.0, logRef, new double[refProbs.Length], 1, [0.0]);
        var inst = new EnumerableInstance("sampler-test", beta, [0.0], NoiseModel.None, [prompt]);
        var meter = new Meter(budgetComp: budgetComp);
        var env = new EnumerableEnvironment(inst, meter, new Rng(1));
        Assert.Equal(0, env.DrawPrompt(new Rng(2)));
        return (env, meter);
    }

    private static double[] Target(double[] refProbs, double[] f, double beta) =>
        Stats.Softmax(refProbs.Select((p, y) => Math.Log(p) + f[y] / beta).ToArray());

    [Fact]
    public void SoftmaxSamplerIsExactWhenMCoversTheTarget()
    {
        double[] refProbs = [0.4, 0.25, 0.15, 0.1, 0.07, 0.03];
        double beta = 0.5;
        // f/β ∈ [0, 2]: every ratio exp(f/β)/Ẑ ≤ e² < M = 8 whatever the normalizer samples, so no capping can occur.
        double[] f = [0.0, 0.2, 0.5, 0.7, 0.9, 1.0];
        var (env, meter) = Environment(refProbs);
        // δ = 1e-12: the per-draw failure probability is ≤ (1 − 1/(e²M))^N ≈ 1e-7, so failures would bias nothing.
        var sampler = new SoftmaxSampler(beta, coverageGuess: 8, delta: 1e-12);
        var rng = new Rng(101);
        var counts = new long[refProbs.Length];
        long failures = 0;
        const int draws = 100_000;
        for (int i = 0; i < draws; i++)
        {
            long before = meter.TComp;
            var d = sampler.Sample(0, env, new TableScore(f), rng);
            Assert.Equal(meter.TComp - before, d.OracleCalls);
            Assert.True(d.OracleCalls >= sampler.NormalizerSamples + 1 && d.OracleCalls <= sampler.NormalizerSamples + sampler.MaxProposals);
            counts[d.Response]++;
            if (d.Failed) failures++;
        }
        Assert.Equal(0, failures);
        Stats.AssertFits(counts, Target(refProbs, f, beta), "SoftmaxSampler (M ≥ coverage)");
        // Sanity: the target is far from π_ref, so the test can tell them apart.
        Assert.True(Stats.TotalVariation(counts, refProbs) > 0.1);
    }

    public static TheoryData<double, double[]> CappedCases => new()
    {
        { 1.0, new[] { 3.0, 1.0, 0.0, -1.0 } },
        // β = 1e-4 with scores of size 100: f/β ~ 10⁶, everything must stay in log space.
        { 1e-4, new[] { 100.0, 99.9995, 99.999, -100.0 } },
    };

    /// <summary>With M below the coverage of the target the output is π_ref·min(exp(f/β), M·Ẑ) (capped), plus the
    /// failure branch. With m = 2 normalizer samples over |Y| = 4 the 16 possible Ẑ are enumerated, so the sampler's
    /// exact output law is known in closed form:
    /// P(y | Ẑ) = π_ref(y)a(y)/A·(1 − (1−A)^N) + (1−A)^{N−1}·π_ref(y)(1 − a(y)), a = min(1, e^{f/β}/(M Ẑ)), A = E_ref a.</summary>
    [Theory]
    [MemberData(nameof(CappedCases))]
    public void SoftmaxSamplerIsCappedWhenMIsTooSmall(double beta, double[] f)
    {
        double[] refProbs = [0.05, 0.15, 0.3, 0.5];
        const double m = 1.5, delta = 0.5;
        var sampler = new SoftmaxSampler(beta, m, delta, normalizerSamples: 2);
        long n = sampler.MaxProposals;
        Assert.Equal((long)Math.Ceiling(4 * m * Math.Log(4 / delta)), n);
        int k = refProbs.Length;
        var expected = new double[k];
        double expectedFailure = 0;
        for (int j1 = 0; j1 < k; j1++)
        for (int j2 = 0; j2 < k; j2++)
        {
            double pPair = refProbs[j1] * refProbs[j2];
            double logZHat = LogMath.LogAddExp(f[j1] / beta, f[j2] / beta) - Math.Log(2);
            var a = new double[k];
            double accept = 0;
            for (int y = 0; y < k; y++) { a[y] = Math.Exp(Math.Min(0, f[y] / beta - logZHat - Math.Log(m))); accept += refProbs[y] * a[y]; }
            double fail = Math.Pow(1 - accept, n);
            expectedFailure += pPair * fail;
            for (int y = 0; y < k; y++)
                expected[y] += pPair * (refProbs[y] * a[y] / accept * (1 - fail) + Math.Pow(1 - accept, n - 1) * refProbs[y] * (1 - a[y]));
        }
        Assert.Equal(1.0, expected.Sum(), 12);
        var target = Target(refProbs, f, beta);
        double tvCap = expected.Zip(target, (p, q) => Math.Abs(p - q)).Sum() / 2;
        Assert.True(tvCap > 0.05, $"test instance does not exercise the cap (TV {tvCap})");

        var (env, meter) = Environment(refProbs);
        var rng = new Rng(202);
        var counts = new long[k];
        long failures = 0;
        const int draws = 100_000;
        for (int i = 0; i < draws; i++)
        {
            long before = meter.TComp;
            var d = sampler.Sample(0, env, new TableScore(f), rng);
            Assert.Equal(meter.TComp - before, d.OracleCalls);
            counts[d.Response]++;
            if (d.Failed) { failures++; Assert.Equal(2 + n, d.OracleCalls); }
        }
        Stats.AssertFits(counts, expected, $"SoftmaxSampler capped law (β = {beta})");
        // Failure count ~ Binomial(draws, p): within 5 standard deviations.
        double sd = Math.Sqrt(draws * expectedFailure * (1 - expectedFailure));
        Assert.True(Math.Abs(failures - draws * expectedFailure) <= 5 * sd + 1, $"failures {failures}, expected {draws * expectedFailure:F1}");
    }

    [Fact]
    public void SirConvergesAsProposalsGrow()
    {
        double[] refProbs = [0.5, 0.2, 0.1, 0.08, 0.06, 0.04, 0.015, 0.005];
        double[] f = [0.0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1];
        double beta = 1.0;
        var target = Target(refProbs, f, beta);
        var (env, meter) = Environment(refProbs);
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
                var d = sir.Sample(0, env, new TableScore(f), rng);
                Assert.Equal(proposals, d.OracleCalls);
                Assert.Equal(proposals, meter.TComp - before);
                counts[d.Response]++;
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
        var (env, meter) = Environment(refProbs, beta: beta);
        var rng = new Rng(404);
        var counts = new long[refProbs.Length];
        const int draws = 100_000;
        for (int i = 0; i < draws; i++)
        {
            long before = meter.TComp;
            var d = ExactSampler.Sample(0, env, new TableScore(f), rng);
            Assert.Equal(refProbs.Length, d.OracleCalls);
            Assert.Equal(refProbs.Length, meter.TComp - before);
            Assert.False(d.Failed);
            counts[d.Response]++;
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
        var (env, meter) = Environment(refProbs, beta: beta);
        var score = new TableScore(f);
        var softmax = new SoftmaxSampler(beta, coverageGuess: 4, delta: 0.01);
        var sir = new SirSampler(beta, 2000);
        for (int i = 0; i < 300; i++)
        {
            long before = meter.TComp;
            var a = softmax.Sample(0, env, score, rng);
            var b = sir.Sample(0, env, score, rng);
            var c = ExactSampler.Sample(0, env, score, rng);
            Assert.InRange(a.Response, 0, n - 1);
            Assert.InRange(b.Response, 0, n - 1);
            Assert.Equal(a.OracleCalls + b.OracleCalls + c.OracleCalls, meter.TComp - before);
            // π* = π_ref e^{f/β}/Z is a point mass on argmax f to within e^{−(gap)/β}: the exact sampler must find it.
            Assert.Equal(argmax, c.Response);
        }
    }

    [Fact]
    public void SamplersRespectTheCompBudget()
    {
        double[] refProbs = [0.5, 0.3, 0.2];
        double[] f = [0.0, 1.0, 2.0];
        var (env, meter) = Environment(refProbs, budgetComp: 25);
        var sampler = new SoftmaxSampler(0.01, coverageGuess: 10, delta: 0.1);
        var rng = new Rng(606);
        Assert.Throws<BudgetExhaustedException>(() =>
        {
            for (int i = 0; i < 1000; i++) sampler.Sample(0, env, new TableScore(f), rng);
        });
        // One charge per oracle call: the budget is used up to the last allowed call and never beyond.
        Assert.Equal(25, meter.TComp);
    }
}
