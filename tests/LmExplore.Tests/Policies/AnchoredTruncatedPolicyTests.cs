using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Policies;

/// <summary>
/// SpannerSampling's output (<see cref="AnchoredTruncatedPolicy"/>): its <see cref="AnchoredTruncatedPolicy.Law"/>
/// equals a brute-force mixture over anchors (each anchor's truncated score computed directly, each anchor's envelope
/// law by <see cref="EnvelopeLawTests.BruteForce"/>), including anchors whose ν-ball holds every response (the shared
/// shortcut); it fits real draws of <see cref="AnchoredTruncatedPolicy.Sample"/>; and its Monte Carlo path agrees
/// with the exact one.
/// </summary>
public class AnchoredTruncatedPolicyTests
{
    private static readonly double[] ThetaHat = [1.5, 0.8, -1.0];
    private static readonly double[] SigmaInverse = [40, 0, 0, 0, 10, 0, 0, 0, 60];

    /// <summary>‖φ(y) − φ(a)‖²_{Σ⁻¹} by the plain quadratic form.</summary>
    private static double Distance2(EnumerablePrompt prompt, int y, int a, double[] sigmaInverse)
    {
        int d = prompt.Dimension;
        var fy = prompt.FeatureRow(y);
        var fa = prompt.FeatureRow(a);
        double q = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) q += (fy[i] - fa[i]) * sigmaInverse[i * d + j] * (fy[j] - fa[j]);
        return q;
    }

    /// <summary>Σ_a π_ref(a)·Law_a(y), each anchor computed on its own: g_a(y) = (s(y) − s(a))·1[inside], s = ⟨θ̂, φ⟩/β.</summary>
    private static double[] BruteForceMixture(EnumerablePrompt prompt, double[] theta, double[] sigmaInverse, double nu, double beta,
        long m, long n, out int sharedAnchors)
    {
        int size = prompt.ResponseCount;
        var refProb = prompt.LogRefProbs.Select(v => Math.Exp(v)).ToArray();
        var s = new double[size];
        for (int y = 0; y < size; y++)
        {
            var phi = prompt.FeatureRow(y);
            for (int i = 0; i < theta.Length; i++) s[y] += theta[i] * phi[i];
            s[y] /= beta;
        }
        var mixture = new double[size];
        sharedAnchors = 0;
        for (int a = 0; a < size; a++)
        {
            var g = new double[size];
            bool all = true;
            for (int y = 0; y < size; y++)
            {
                bool inside = Distance2(prompt, y, a, sigmaInverse) <= nu * nu;
                all &= inside;
                g[y] = inside ? s[y] - s[a] : 0;
            }
            if (all) sharedAnchors++;
            var (law, _) = EnvelopeLawTests.BruteForce(g, refProb, m, n);
            for (int y = 0; y < size; y++) mixture[y] += refProb[a] * law[y];
        }
        return mixture;
    }

    /// <summary>A ν between two consecutive per-anchor ν-ball radii needed to hold every response, so that about
    /// <paramref name="fraction"/> of the anchors are shared and no anchor sits on the boundary.</summary>
    private static double NuSharing(EnumerablePrompt prompt, double[] sigmaInverse, double fraction)
    {
        int size = prompt.ResponseCount;
        var radius2 = Enumerable.Range(0, size)
            .Select(a => Enumerable.Range(0, size).Max(y => Distance2(prompt, y, a, sigmaInverse))).Order().ToArray();
        int k = Math.Clamp((int)(fraction * size), 1, size - 1);
        return Math.Sqrt(0.5 * (radius2[k - 1] + radius2[k]));
    }

    public static TheoryData<string, double, double, double> ReferenceCases => new()
    {
        // name, β, tiny π_ref mass, share of anchors whose ν-ball holds everything (−1: ν = 0.9, no anchor shared)
        { "partial truncation", 1.0, 1.0, -1 },
        { "half the anchors shared", 1.0, 1.0, 0.5 },
        { "every anchor shared", 1.0, 1.0, 2.0 },
        { "tiny β, half shared", 1e-3, 1.0, 0.5 },
        { "π_ref mass 1e-300", 1.0, 1e-300, 0.3 },
    };

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void Law_EqualsTheBruteForceMixtureOverAnchors(string what, double beta, double tinyMass, double shared)
    {
        var instance = PolicyFixtures.ExtremeInstance(beta, tinyMass);
        var prompt = instance.Prompts[0];
        double[] thetaHat = [0.7, -0.5, 0.4];
        double[] sigmaInverse = [3, 0.5, 0, 0.5, 2, 0.2, 0, 0.2, 4];
        double nu = shared < 0 ? 0.9 : shared > 1 ? 100 : NuSharing(prompt, sigmaInverse, shared);
        const long m = 3, n = 25;
        var policy = new AnchoredTruncatedPolicy(thetaHat, sigmaInverse, nu, new EnvelopeSampler(beta, m, n), 1);
        var law = policy.Law(instance);
        Assert.Null(law.MonteCarloBatches);
        var actual = law.Sampler.LogProbs[0].Select(v => Math.Exp(v)).ToArray();
        var expected = BruteForceMixture(prompt, thetaHat, sigmaInverse, nu, beta, m, n, out int sharedAnchors);
        Assert.Equal(1.0, actual.Sum(), 10);
        for (int y = 0; y < actual.Length; y++)
            Assert.True(Math.Abs(actual[y] - expected[y]) <= 1e-8 * expected[y] + 1e-14, $"{what}, y = {y}: brute force {expected[y]:R}, Law {actual[y]:R}");
        // Each case exercises what it names.
        int size = prompt.ResponseCount;
        if (shared < 0) Assert.Equal(0, sharedAnchors);
        else if (shared > 1) Assert.Equal(size, sharedAnchors);
        else Assert.InRange(sharedAnchors, 1, size - 1);
    }

    [Fact]
    public void SharedAnchors_AgreeWithAnUnsharedComputation()
    {
        // Every anchor's ν-ball holds every response at ν = 100 (the shortcut pools them into one law); at ν = 100 with
        // one coordinate of Σ⁻¹ raised so that exactly the farthest pairs fall outside, the shortcut is not taken for
        // those anchors. The shared law must equal the one computed anchor by anchor (brute force above) — and differ
        // from the partially truncated one, or the comparison would not show anything.
        var instance = PolicyFixtures.SmallInstance(n: 12);
        var sampler = new EnvelopeSampler(1.0, 2, 30);
        var sharedLaw = new AnchoredTruncatedPolicy(ThetaHat, SigmaInverse, 100, sampler, 1).Law(instance);
        for (int x = 0; x < 2; x++)
        {
            var expected = BruteForceMixture(instance.Prompts[x], ThetaHat, SigmaInverse, 100, 1.0, 2, 30, out int sharedAnchors);
            Assert.Equal(12, sharedAnchors);
            for (int y = 0; y < 12; y++)
                Assert.Equal(expected[y], Math.Exp(sharedLaw.Sampler.LogProbs[x][y]), 12);
        }
        var truncated = new AnchoredTruncatedPolicy(ThetaHat, SigmaInverse, 0.8, sampler, 1).Law(instance);
        double tv = 0;
        for (int y = 0; y < 12; y++) tv += 0.5 * Math.Abs(Math.Exp(sharedLaw.Sampler.LogProbs[0][y]) - Math.Exp(truncated.Sampler.LogProbs[0][y]));
        Assert.True(tv > 0.01, $"truncation changes the law only by TV {tv}");
    }

    [Theory]
    [InlineData(1L, 30L)]      // one pilot sample: the capped law
    [InlineData(100L, 300L)]   // large pilot: close to the target
    public void Law_FitsRealDraws_WhereTruncationBites(long m, long n)
    {
        var instance = PolicyFixtures.SmallInstance(n: 12);
        // With the small pilot θ̂ is multiplied by 5, so that the target puts mass where one pilot sample rarely looks.
        var theta = ThetaHat.Select(t => m < 10 ? 5 * t : t).ToArray();
        var policy = new AnchoredTruncatedPolicy(theta, SigmaInverse, 0.8, new EnvelopeSampler(1.0, m, n), 5);
        var law = policy.Law(instance);
        // The truncation must bite: some anchors' ν-balls exclude some responses, and the target differs from π_θ̂.
        int excluding = 0;
        for (int a = 0; a < 12; a++)
            if (Enumerable.Range(0, 12).Any(y => Distance2(instance.Prompts[0], y, a, SigmaInverse) > 0.64)) excluding++;
        Assert.InRange(excluding, 1, 12);
        var untruncated = TabularPolicy.LinearSoftmax(instance, theta);
        double tvUntruncated = 0;
        for (int y = 0; y < 12; y++) tvUntruncated += 0.5 * Math.Abs(Math.Exp(law.Target.LogProbs[0][y]) - Math.Exp(untruncated.LogProbs[0][y]));
        Assert.True(tvUntruncated > 0.02, $"truncation changes π̂ only by TV {tvUntruncated}");

        var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
        var rng = new Rng(2024).Split((ulong)m);
        int draws = m >= 100 ? 6_000 : 20_000;
        double calls = 0;
        for (int x = 0; x < 2; x++)
        {
            var prompt = PolicyFixtures.Receive(env, x, rng);
            var counts = new long[12];
            for (int i = 0; i < draws; i++)
            {
                var draw = policy.Sample(env, prompt, rng);
                Assert.Equal(x, draw.Response.PromptIndex);
                counts[draw.Response.Index]++;
                calls += draw.OracleCalls;
            }
            var expected = law.Sampler.LogProbs[x].Select(v => Math.Exp(v)).ToArray();
            Stats.AssertFits(counts, expected, $"anchored policy, prompt {x}, m = {m}");
            if (m < 10)
            {
                // The small pilot must visibly cap the law (else this case would only repeat the large-pilot one).
                var target = law.Target.LogProbs[x].Select(v => Math.Exp(v)).ToArray();
                double tv = expected.Zip(target, (p, q) => Math.Abs(p - q)).Sum() / 2;
                Assert.True(tv > 0.02, $"prompt {x}: the capped law is within TV {tv} of the target");
            }
        }
        Assert.Equal(env.Meter.TComp, (long)calls);
        // Mean cost of a draw against output_sample_cost (1 + m + E[proposals]): within 3 %.
        Assert.InRange(calls / (2 * draws) / law.SampleCost, 0.97, 1.03);
    }

    [Fact]
    public void MonteCarloLaw_AgreesWithTheExactLaw()
    {
        // exactLimit 0 forces the Monte Carlo path (256 anchors in 8 batches) on a small needle; each entry of its law
        // must lie within 5 batch standard errors of the exact law, and the batches must be distributions themselves.
        var instance = InstanceCatalog.Create("needle", PolicyFixtures.SmallNeedle(30, prompts: 2, responses: 120), 4);
        int d = instance.Dimension;
        var theta = instance.Theta.Select(t => 0.8 * t).ToArray();
        var sigmaInverse = new double[d * d];
        for (int i = 0; i < d; i++) sigmaInverse[i * d + i] = 0.18;
        int axis = Array.FindIndex(instance.Theta, t => t != 0);
        sigmaInverse[((axis + 1) % d) * (d + 1)] = 0.6;
        var sampler = new EnvelopeSampler(instance.Beta, 5, 60);
        var exact = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, sampler, 9).Law(instance);
        var monteCarlo = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, sampler, 9, exactLimit: 0).Law(instance);
        Assert.Null(exact.MonteCarloBatches);
        var batches = Assert.IsType<TabularPolicy[]>(monteCarlo.MonteCarloBatches);
        Assert.Equal(AnchoredTruncatedPolicy.MonteCarloBatches, batches.Length);
        Assert.Equal(AnchoredTruncatedPolicy.MonteCarloAnchors, monteCarlo.Diagnostics["output_mc_anchors"]);
        int far = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            foreach (var b in batches) Assert.Equal(1.0, b.LogProbs[x].Sum(v => Math.Exp(v)), 9);
            for (int y = 0; y < instance.Prompts[x].ResponseCount; y++)
            {
                double p = Math.Exp(exact.Sampler.LogProbs[x][y]), q = Math.Exp(monteCarlo.Sampler.LogProbs[x][y]);
                var values = batches.Select(b => Math.Exp(b.LogProbs[x][y])).ToArray();
                double mean = values.Average();
                double se = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1) / values.Length);
                if (Math.Abs(p - q) > 5 * se + 1e-12) far++;
            }
        }
        // With ~240 entries and 5-SE bounds on a t₇ statistic a handful of exceedances is possible; a wrong law gives many.
        Assert.True(far <= 3, $"{far} entries of the Monte Carlo law are more than 5 batch SEs from the exact law");
        Assert.InRange(monteCarlo.SampleCost / exact.SampleCost, 0.8, 1.25);
        // The headline's Monte Carlo interval is reported, and J agrees.
        var evaluation = new EnumerableOutputEvaluator(instance).Evaluate(new FixedLaw(monteCarlo), 0.01);
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.MonteCarlo, evaluation.Method);
        Assert.NotNull(evaluation.CiLow);
    }

    [Fact]
    public void NeedleAtTheDefaultSize_IsAValidDistribution()
    {
        // The size users run (8 × 2000 responses): exact path, every row a distribution, a finite cost.
        var instance = InstanceCatalog.Create("needle", new Dictionary<string, string> { ["ccov"] = "1000" }, 1);
        var d = instance.Dimension;
        var theta = (double[])instance.Theta.Clone();
        var sigmaInverse = new double[d * d];
        for (int i = 0; i < d; i++) sigmaInverse[i * d + i] = 0.3;
        var law = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, new EnvelopeSampler(0.1, 2000, 6000), 1).Law(instance);
        Assert.Null(law.MonteCarloBatches);
        foreach (var row in law.Sampler.LogProbs) Assert.InRange(row.Sum(v => Math.Exp(v)), 1 - 1e-9, 1 + 1e-9);
        Assert.True(law.SampleCost > 2000);
        Assert.True(ExactEvaluator.OptimalValue(instance) - ExactEvaluator.Value(instance, law.Sampler) >= -1e-12);
    }

    /// <summary>An output policy that only hands back a precomputed law (for evaluator tests).</summary>
    internal sealed class FixedLaw(OutputLaw law) : IOutputPolicy
    {
        public SamplerDraw Sample(ILearnerEnvironment environment, Prompt prompt, Rng rng) => throw new NotSupportedException();
        public OutputLaw Law(EnumerableInstance instance) => law;
    }
}
