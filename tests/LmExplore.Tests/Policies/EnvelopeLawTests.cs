using CsCheck;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Policies;

/// <summary>
/// The exact law of <see cref="EnvelopeSampler"/> (<see cref="EnvelopeLaw"/>, reached through
/// <see cref="SoftmaxOutputPolicy.Law"/>): it sums to 1, equals a brute-force computation written independently
/// below, and fits real draws of the sampler (χ² at the 10⁻⁶ level) — with a pilot that often misses the top
/// response (capped law), with a pilot that always finds it (exact target), and with few proposals (failure branch).
/// </summary>
public class EnvelopeLawTests
{
    /// <summary>
    /// Brute force, level by level with plain loops: for each distinct value L of g, the pilot max is L with probability
    /// P(g ≤ L)^m − P(g &lt; L)^m; given τ = e^L a proposal y is accepted with a(y) = min(1, e^{g(y) − L}), proposal i ≤ N − 1
    /// returns y with probability (1 − p)^{i−1}·π(y)·a(y), and the N-th proposal is returned whatever the coin says.
    /// </summary>
    internal static (double[] Law, double Failure) BruteForce(double[] g, double[] refProb, long m, long n)
    {
        int size = g.Length;
        var levels = g.Distinct().OrderByDescending(v => v).ToArray();
        var law = new double[size];
        double failure = 0;
        foreach (double level in levels)
        {
            double atOrBelow = 0, below = 0;
            for (int y = 0; y < size; y++)
            {
                if (g[y] <= level) atOrBelow += refProb[y];
                if (g[y] < level) below += refProb[y];
            }
            double pMax = Math.Pow(atOrBelow, m) - Math.Pow(below, m);
            if (pMax == 0) continue;
            var accept = new double[size];
            double p = 0;
            for (int y = 0; y < size; y++)
            {
                accept[y] = Math.Min(1, Math.Exp(g[y] - level));
                p += refProb[y] * accept[y];
            }
            double allRejectedSoFar = 1;                    // (1 − p)^{i−1}
            for (long i = 1; i < n; i++)
            {
                for (int y = 0; y < size; y++) law[y] += pMax * allRejectedSoFar * refProb[y] * accept[y];
                allRejectedSoFar *= 1 - p;
            }
            for (int y = 0; y < size; y++) law[y] += pMax * allRejectedSoFar * refProb[y];   // y_N, accepted or not
            failure += pMax * allRejectedSoFar * (1 - p);                                     // the N-th was rejected too
        }
        return (law, failure);
    }

    /// <summary>A one-prompt, d = 1 instance with φ(y) = f(y) and θ = 1, so π_θ's score is f itself.</summary>
    private static EnumerableInstance ScoreInstance(double[] refProb, double[] f, double beta)
    {
        var logRef = refProb.Select(p => Math.Log(p)).ToArray();
        var prompt = new EnumerablePrompt(1.0, logRef, (double[])f.Clone(), 1, [1.0]);
        return new EnumerableInstance("envelope-law", beta, [1.0], NoiseModel.None, [prompt]);
    }

    private static double[] LawOf(double[] refProb, double[] f, double beta, long m, long n, out OutputLaw law)
    {
        var policy = new SoftmaxOutputPolicy([1.0], new EnvelopeSampler(beta, m, n));
        law = policy.Law(ScoreInstance(refProb, f, beta));
        return law.Sampler.LogProbs[0].Select(v => Math.Exp(v)).ToArray();
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        for (int y = 0; y < expected.Length; y++)
            Assert.True(Math.Abs(expected[y] - actual[y]) <= 1e-9 * expected[y] + 1e-12,
                $"{what}: y = {y}: brute force {expected[y]:R}, EnvelopeLaw {actual[y]:R}");
    }

    [Fact]
    public void Property_SumsToOne_AndEqualsBruteForce()
    {
        // Random instances of 1–7 responses; scores drawn from a few values so ties (one level, several responses) occur.
        var gen = Gen.Int[1, 7].SelectMany(size => Gen.Select(
            Gen.Double[0.02, 1].Array[size], Gen.Int[-3, 3].Array[size], Gen.Double[0.05, 2],
            Gen.Int[1, 60], Gen.Int[1, 40]));
        gen.Sample(t =>
        {
            var (weights, levels, beta, m, n) = t;
            double total = weights.Sum();
            var refProb = weights.Select(w => w / total).ToArray();
            var f = levels.Select(l => 0.3 * l).ToArray();
            var g = f.Select(v => v / beta).ToArray();
            var actual = LawOf(refProb, f, beta, m, n, out var law);
            Assert.Equal(1.0, actual.Sum(), 12);
            var (expected, failure) = BruteForce(g, refProb, m, n);
            Assert.Equal(1.0, expected.Sum(), 12);
            AssertClose(expected, actual, $"m = {m}, N = {n}, β = {beta}");
            Assert.Equal(failure, law.Diagnostics["output_sampler_failure_mean"], 9);
        }, iter: 400);
    }

    [Theory]
    [InlineData(1e-4)]     // f/β ~ 10⁶: everything must stay relative (no overflow)
    [InlineData(50.0)]     // almost flat weights
    public void ExtremeBeta_StaysFiniteAndEqualsBruteForce(double beta)
    {
        double[] refProb = [0.1, 0.2, 0.3, 0.4];
        double[] f = [100.0, 99.9995, 99.999, -100.0];
        var g = f.Select(v => v / beta).ToArray();
        var actual = LawOf(refProb, f, beta, 3, 20, out _);
        Assert.All(actual, p => Assert.True(double.IsFinite(p)));
        AssertClose(BruteForce(g, refProb, 3, 20).Law, actual, $"β = {beta}");
    }

    [Theory]
    [InlineData(0.5, 10L)]
    [InlineData(1e-8, 100_000_000L)]
    [InlineData(1e-12, 1_000_000_000_000_000L)]    // (N − 1)·p = 1000: F underflows to 0, S = 1/p
    [InlineData(1e-300, 1_000_000_000_000_000L)]   // S = N − 1 with no cancellation
    [InlineData(1.0, 15L)]
    [InlineData(0.3, 1L)]                          // N = 1: the single proposal is returned as drawn
    public void CappedSamplerWeights_AreStableForTinyPAndHugeN(double p, long n)
    {
        var (s, f) = EnvelopeLaw.CappedSamplerWeights(p, n);
        Assert.True(double.IsFinite(s) && double.IsFinite(f) && s >= 0 && f >= 0 && f <= 1);
        Assert.Equal(1.0, p * s + f, 12);                                   // Σ_y P(y) = p·S + F = 1
        // Reference: S = Σ_{i<N−1} (1 − p)^i, F = (1 − p)^{N−1} via a log1p series.
        double logOneMinusP = p < 1e-4 ? -p - p * p / 2 - p * p * p / 3 : Math.Log(1 - p);
        double expectedF = p >= 1 && n > 1 ? 0 : Math.Exp((n - 1) * logOneMinusP);
        double expectedS = n == 1 ? 0 : p >= 1 ? 1 : (n - 1) * p < 1e-6 ? (n - 1) * (1 - (n - 2) * p / 2) : (1 - expectedF) / p;
        Assert.True(Math.Abs(f - expectedF) <= 1e-12 * Math.Max(expectedF, 1e-300) + 1e-300, $"F {f} vs {expectedF}");
        Assert.True(Math.Abs(s - expectedS) <= 1e-9 * Math.Max(expectedS, 1e-300), $"S {s} vs {expectedS}");
    }

    public static TheoryData<string, long, long> DrawCases => new()
    {
        // m = 1: the pilot finds the top response (mass 0.03) only 3% of the time — the law is the capped one.
        { "small pilot (capped)", 1, 200 },
        { "pilot of 3 (capped)", 3, 200 },
        // m = 2000: the pilot misses the top with probability 0.97^1000 ≈ 6e-14 — the law is the target.
        { "large pilot (exact target)", 1000, 200 },
        // N = 2: no acceptance within 2 proposals is common — the failure branch returns y_2 as drawn.
        { "two proposals (failure branch)", 200, 2 },
    };

    [Theory]
    [MemberData(nameof(DrawCases))]
    public void RealDrawsFitTheLaw(string what, long m, long n)
    {
        double[] refProb = [0.4, 0.25, 0.15, 0.1, 0.07, 0.03];
        double[] f = [0.0, 0.2, 0.5, 0.7, 0.9, 1.5];
        const double beta = 0.5;
        var expected = LawOf(refProb, f, beta, m, n, out var law);
        var target = Stats.Softmax(refProb.Select((p, y) => Math.Log(p) + f[y] / beta).ToArray());
        double tvTarget = expected.Zip(target, (p, q) => Math.Abs(p - q)).Sum() / 2;
        double failure = law.Diagnostics["output_sampler_failure_mean"];
        // Each case must exercise what it claims.
        if (m < 10) Assert.True(tvTarget > 0.05, $"{what}: the cap must be visible (TV to the target {tvTarget})");
        else if (n > 100) Assert.True(tvTarget < 1e-9, $"{what}: the law must be the target (TV {tvTarget})");
        else Assert.True(failure > 0.3, $"{what}: the failure branch must be visible (P(fail) = {failure})");

        var instance = ScoreInstance(refProb, f, beta);
        var policy = new SoftmaxOutputPolicy([1.0], new EnvelopeSampler(beta, m, n));
        var meter = new Meter();
        var env = new EnumerableEnvironment(instance, meter, new Rng(1));
        var rng = new Rng(4040).Split(what);
        var x = env.DrawPrompt(rng);
        var counts = new long[refProb.Length];
        long failures = 0, calls = 0;
        int draws = m >= 1000 ? 10_000 : 20_000;
        for (int i = 0; i < draws; i++)
        {
            var d = policy.Sample(env, x, rng);
            counts[d.Response.Index]++;
            if (d.Failed) failures++;
            calls += d.OracleCalls;
        }
        Assert.Equal(meter.TComp, calls);
        Stats.AssertFits(counts, expected, $"EnvelopeSampler, {what}");
        // Power: the same draws reject π_ref, and for the capped cases the target too.
        var (chiRef, dfRef) = Stats.ChiSquare(counts, refProb);
        Assert.True(chiRef > Stats.ChiSquareCritical(dfRef) || n <= 2, $"{what}: the draws cannot tell the law from π_ref");
        if (m < 10)
        {
            var (chiTarget, dfTarget) = Stats.ChiSquare(counts, target);
            Assert.True(chiTarget > Stats.ChiSquareCritical(dfTarget), $"{what}: the draws cannot tell the capped law from the target");
        }
        // Failures ~ Binomial(draws, failure) and the mean cost ≈ output_sample_cost: within 5 standard deviations.
        double sd = Math.Sqrt(draws * failure * (1 - failure));
        Assert.InRange(failures, draws * failure - 5 * sd - 1, draws * failure + 5 * sd + 1);
        double meanCost = (double)calls / draws;
        Assert.InRange(meanCost / law.SampleCost, 0.97, 1.03);
    }

    [Fact]
    public void FailureBranchOnly_WhenNothingCanBeAcceptedButTheTop()
    {
        // N = 1: the single proposal is returned as drawn, so the law is π_ref whatever the pilot found.
        double[] refProb = [0.5, 0.3, 0.2];
        double[] f = [0.0, 1.0, 3.0];
        var actual = LawOf(refProb, f, 0.2, 5, 1, out _);
        AssertClose(refProb, actual, "N = 1");
    }
}
