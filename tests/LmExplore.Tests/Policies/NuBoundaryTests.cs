using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Policies;

/// <summary>
/// Relative features placed exactly on the ν boundary (vᵀΣ⁻¹v == ν² in floating point) and one step outside it: the
/// algorithm's test (<see cref="EllipticNorm.NormSquared"/>, the spanner's pair scan), the samplers' truncated score
/// (<see cref="TruncatedAnchoredScore"/>, at both levels) and both exact laws put each on the same side — the boundary
/// vector inside (≤ ν²), the other outside — and the laws still match real draws there.
/// </summary>
public class NuBoundaryTests
{
    private const double Nu = 0.7;
    private const double NuSquared = Nu * Nu;

    /// <summary>
    /// Along random directions (tail coordinates as given), the scale c whose c·v has vᵀAv == ν² exactly, and the next
    /// double above c (whose vector is outside). Not every direction has such a c; one of the first few hundred does.
    /// </summary>
    private static (double[] OnBoundary, double[] Outside) Boundary(double[] a, int dimension, int free, Rng rng)
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            var direction = new double[dimension];
            for (int k = 0; k < free; k++) direction[k] = rng.NextGaussian();
            double[] Scaled(double c) => direction.Select(x => c * x).ToArray();
            double Q(double c) => QuadraticForm.Evaluate(a, Scaled(c));
            double scale = Math.Sqrt(NuSquared / QuadraticForm.Evaluate(a, direction));
            for (int i = 0; i < 64 && Q(scale) > NuSquared; i++) scale = Math.BitDecrement(scale);
            for (int i = 0; i < 64 && Q(Math.BitIncrement(scale)) <= NuSquared; i++) scale = Math.BitIncrement(scale);
            if (Q(scale) == NuSquared && Q(Math.BitIncrement(scale)) > NuSquared) return (Scaled(scale), Scaled(Math.BitIncrement(scale)));
        }
        throw new InvalidOperationException("no direction hit ν² exactly");
    }

    /// <summary>Σ⁻¹ of a real elliptic norm after a few updates (Sherman–Morrison leaves it symmetric only up to rounding).</summary>
    private static EllipticNorm Sigma(int d, Rng rng)
    {
        var norm = new EllipticNorm(d, 0.5);
        for (int t = 0; t < 2 * d; t++) norm.Add(Enumerable.Range(0, d).Select(_ => 0.5 * rng.NextGaussian()).ToArray());
        return norm;
    }

    private static EnumerableInstance OnePrompt(double[][] features, double[] refProb, double[] theta, double beta)
    {
        int d = theta.Length;
        var logRef = refProb.Select(p => Math.Log(p)).ToArray();
        TabularPolicy.Normalize(logRef);
        var prompt = new EnumerablePrompt(1, logRef, features.SelectMany(f => f).ToArray(), d, theta);
        return new EnumerableInstance("nu-boundary", beta, theta, NoiseModel.None, [prompt]);
    }

    /// <summary>θ with ⟨θ, v⟩ = 2 plus a bit of noise: a response on the boundary weighs e² when kept, 1 when cut.</summary>
    private static double[] ThetaAlong(double[] v, Rng rng)
    {
        double vv = v.Sum(x => x * x);
        return v.Select(x => 2 * x / vv + 0.05 * rng.NextGaussian()).ToArray();
    }

    [Fact]
    public void SequenceLevel_SamplerLawAndSpannerTest_AgreeOnTheBoundary()
    {
        const int d = 3;
        const double beta = 1;
        const long m = 2, n = 6;
        var rng = new Rng(41);
        var norm = Sigma(d, rng);
        var sigmaInverse = norm.Inverse.ToArray();
        var (onBoundary, outside) = Boundary(sigmaInverse, d, d, rng);
        var theta = ThetaAlong(onBoundary, rng);
        // y0 = 0, y1 on the boundary of y0 (and y0 on y1's), y2 just outside y0's, y3 = −y1, y4 well inside.
        double[][] features = [new double[d], onBoundary, outside, onBoundary.Select(x => -x).ToArray(), onBoundary.Select(x => 0.3 * x).ToArray()];
        var instance = OnePrompt(features, [0.4, 0.15, 0.15, 0.15, 0.15], theta, beta);

        // The algorithm's test: the boundary vector is covered (≤ ν²), the next one is not.
        Assert.Equal(NuSquared, norm.NormSquared(onBoundary));
        Assert.True(norm.NormSquared(outside) > NuSquared);

        // The sampler's score, anchored at y0: keeps y1, cuts y2.
        var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
        var prompt = PolicyFixtures.Receive(env, 0, rng);
        var responses = env.Enumerate(prompt);
        var scratch = new double[d];
        var f0 = new TruncatedAnchoredScore(env, theta, env.Features(responses[0]).ToArray(), sigmaInverse, NuSquared, scratch);
        Assert.NotEqual(0, f0.Score(responses[1]));
        Assert.Equal(0, f0.Score(responses[2]));

        // The law against the mixture built from the sampler's own scores, anchor by anchor.
        var refProb = instance.Prompts[0].LogRefProbs.ToArray().Select(v => Math.Exp(v)).ToArray();
        var expected = new double[features.Length];
        for (int a = 0; a < features.Length; a++)
        {
            var f = new TruncatedAnchoredScore(env, theta, env.Features(responses[a]).ToArray(), sigmaInverse, NuSquared, scratch);
            var g = responses.Select(y => f.Score(y) / beta).ToArray();
            var (law, _) = EnvelopeLawTests.BruteForce(g, refProb, m, n);
            for (int y = 0; y < g.Length; y++) expected[y] += refProb[a] * law[y];
        }
        var policy = new AnchoredTruncatedPolicy(theta, sigmaInverse, Nu, new EnvelopeSampler(beta, m, n), 1);
        var actual = policy.Law(instance).Sampler.LogProbs[0].Select(v => Math.Exp(v)).ToArray();
        for (int y = 0; y < expected.Length; y++)
            Assert.True(Math.Abs(actual[y] - expected[y]) <= 1e-9, $"y = {y}: law {actual[y]:R}, from the sampler's scores {expected[y]:R}");

        // And real draws of the output sampler fit that law.
        var counts = new long[features.Length];
        for (int i = 0; i < 100_000; i++) counts[policy.Sample(env, prompt, rng).Response.Index]++;
        Stats.AssertFits(counts, actual, "anchored sampler on the ν boundary");
    }

    [Fact]
    public void SpannerPairScan_DoesNotRewardAPairOnTheBoundary_ButOneStepOutside()
    {
        const int d = 4;
        var rng = new Rng(42);
        var norm = Sigma(d, rng);
        var (onBoundary, outside) = Boundary(norm.Inverse.ToArray(), d, d, rng);
        double[] theta = [1, 0, 0, 0];
        foreach (var (v, informative) in new[] { (onBoundary, false), (outside, true) })
        {
            var instance = OnePrompt([new double[d], v], [0.5, 0.5], theta, 1);
            var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
            var scan = new SpannerPairScan(d);
            var x = env.DrawPrompt(rng);
            // Pairs (y0, y1) and (y1, y0) have v = ∓φ(y1), whose form is the same number; (y, y) has v = 0.
            var found = scan.Scan(env, x, rng, norm, NuSquared, 200, 200);
            Assert.Equal(informative, found.Informative);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TokenLevel_SamplerAndLaw_AgreeOnTheBoundary(bool distributions)
    {
        // One state, so token features are [ψ(a), 1] and relative features [ψ(a) − ψ(a'), 0]: the boundary is placed on those.
        const int d = 3, D = d + 1, V = 5;
        const double beta = 1;
        var rng = new Rng(43);
        var norm = Sigma(D, rng);
        var sigmaInverse = norm.Inverse.ToArray();
        var (onBoundary, outside) = Boundary(sigmaInverse, D, d, rng);
        double[][] psi = [new double[d], onBoundary[..d], outside[..d], onBoundary[..d].Select(x => -x).ToArray(), onBoundary[..d].Select(x => 0.3 * x).ToArray()];
        double[] refProb = [0.4, 0.15, 0.15, 0.15, 0.15];
        var inst = new AutoregressiveInstance("nu-boundary", beta, 1, V, 1, new double[d], NoiseModel.None, [new AutoregressivePrompt(1, 0)],
            new int[V], refProb.Select(p => Math.Log(p)).ToArray(), psi.SelectMany(p => p).ToArray());
        var theta = ThetaAlong(onBoundary, rng);
        var policy = new TruncatedTokenPolicy(1, D, beta, Nu, distributions);
        policy.SetLayer(1, theta, sigmaInverse, new TokenSamplerSize(2, 6));
        var features = TokenFeatures.Build(inst);
        var phi = Enumerable.Range(0, V).Select(a => features.AsSpan(a * D, D).ToArray()).ToArray();

        // The sampler's score anchored at token 0 keeps token 1 and cuts token 2.
        var scratch = new double[D];
        Assert.NotEqual(0, TruncatedAnchoredScore.Evaluate(phi[1], phi[0], theta, sigmaInverse, NuSquared, scratch));
        Assert.Equal(0, TruncatedAnchoredScore.Evaluate(phi[2], phi[0], theta, sigmaInverse, NuSquared, scratch));

        // The law against a mixture over anchors whose truncation is the kernel's ≤ ν², written out here.
        var expected = new double[V];
        for (int b = 0; b < V; b++)
        {
            var g = new double[V];
            for (int a = 0; a < V; a++)
            {
                var v = phi[a].Zip(phi[b], (p, q) => p - q).ToArray();
                g[a] = QuadraticForm.Evaluate(sigmaInverse, v) <= NuSquared ? theta.Zip(v, (t, x) => t * x).Sum() / beta : 0;
            }
            var law = distributions ? Stats.Softmax(g.Select((x, a) => x + Math.Log(refProb[a])).ToArray()) : EnvelopeLawTests.BruteForce(g, refProb, 2, 6).Law;
            for (int a = 0; a < V; a++) expected[a] += refProb[b] * law[a];
        }
        var actual = policy.Law(inst).LogProbs.Select(v => Math.Exp(v)).ToArray();
        for (int a = 0; a < V; a++)
            Assert.True(Math.Abs(actual[a] - expected[a]) <= 1e-9, $"a = {a}: law {actual[a]:R}, brute force {expected[a]:R}");

        var env = new AutoregressiveTokenEnvironment(inst, new Meter(), new Rng(1), distributions);
        var counts = new long[V];
        var tokens = new int[1];
        for (int i = 0; i < 100_000; i++)
        {
            policy.Sample(env, env.DrawPrompt(rng), rng, tokens);
            counts[tokens[0]]++;
        }
        Stats.AssertFits(counts, actual, $"token sampler on the ν boundary (distributions = {distributions})");
    }
}
