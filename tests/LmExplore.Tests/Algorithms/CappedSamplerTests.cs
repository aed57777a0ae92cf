using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Algorithms;

/// <summary>
/// <c>suboptimality_sampler</c>: the law of what SpannerSampling's output sampler really returns (M = M_rej, N proposals,
/// y_N on failure, exact Ẑ), beside the headline <c>suboptimality</c> of its exact-softmax target.
/// </summary>
public class CappedSamplerTests
{
    /// <summary>One prompt × 40 responses, d = 3, θ* = (0.8, −0.4, 0.3); response 0 has π_ref mass ∝ <paramref name="tinyMass"/>
    /// (1e-300 exercises the log-space path of the tabulation, as does a small β).</summary>
    internal static EnumerableInstance ExtremeInstance(double beta, double tinyMass)
    {
        var rng = new Rng(3);
        const int d = 3, n = 40;
        var logRef = new double[n];
        var features = new double[n * d];
        for (int y = 0; y < n; y++)
        {
            logRef[y] = y == 0 ? Math.Log(tinyMass) : -rng.NextDouble();
            for (int j = 0; j < d; j++) features[y * d + j] = rng.NextDouble() - 0.5;
        }
        TabularPolicy.Normalize(logRef);
        double[] theta = [0.8, -0.4, 0.3];
        var prompt = new EnumerablePrompt(1, logRef, features, d, theta);
        return new EnumerableInstance("ref", beta, theta, NoiseModel.None, [prompt]);
    }

    /// <summary>Two prompts × 12 responses, β = 1, features in [−0.25, 0.25]³, θ* = <paramref name="theta"/>. With
    /// <see cref="ThetaHat"/> every score has |f| &lt; 1, so the target's coverage is ≤ e² &lt; 10.</summary>
    internal static EnumerableInstance SmallInstance(double[]? theta = null)
    {
        theta ??= [0.3, -0.2, 0.1];
        var rng = new Rng(11);
        const int d = 3, n = 12;
        var prompts = new List<EnumerablePrompt>();
        for (int x = 0; x < 2; x++)
        {
            var logRef = new double[n];
            var features = new double[n * d];
            for (int y = 0; y < n; y++)
            {
                logRef[y] = Math.Log(1.0 / (y + 1));
                for (int j = 0; j < d; j++) features[y * d + j] = 0.5 * (rng.NextDouble() - 0.5);
            }
            TabularPolicy.Normalize(logRef);
            prompts.Add(new EnumerablePrompt(0.5, logRef, features, d, theta));
        }
        return new EnumerableInstance("small", 1.0, theta, NoiseModel.None, prompts);
    }

    private static readonly double[] ThetaHat = [1.5, 0.8, -1.0];
    private static readonly double[] SigmaInverse = [40, 0, 0, 0, 10, 0, 0, 0, 60];

    private static double Chi2(int[] counts, double[] logProbs, int draws)
    {
        double chi2 = 0;
        for (int y = 0; y < counts.Length; y++)
        {
            double expected = draws * Math.Exp(logProbs[y]);
            chi2 += (counts[y] - expected) * (counts[y] - expected) / expected;
        }
        return chi2;
    }

    [Fact]
    public void StarvedSampler_LawMatchesRealDraws_AndIsWorseThanTheTarget()
    {
        // M = 1 (what `rejection-coverage=1` gives the learner), m = 100 normalizer samples so that Ẑ ≈ Z: the
        // formula ignores only the noise of Ẑ, whose bias on the law is second order, O(χ²(π̄‖π_ref)/m) relative —
        // well below what 10 000 draws per prompt resolve (measured: χ² 10.2 and 7.9 against the capped law with
        // m = 100, and 2.5 / 16.7 with 20 000 draws at m = 50; 11 dof).
        // θ̂ = θ* = 3·(1.5, 0.8, −1) and a wide ν-ball: the target is close to π* (suboptimality ≈ 0.008) while its
        // coverage (≈ 4.6) is far above M.
        double[] theta = ThetaHat.Select(t => 3 * t).ToArray();
        var instance = SmallInstance(theta);
        var sampler = new SoftmaxSampler(1.0, coverageGuess: 1, delta: 0.1, normalizerSamples: 100);
        var policy = new AnchoredTruncatedPolicy(theta, [4, 0, 0, 0, 1, 0, 0, 0, 6], 0.8, sampler, 5);
        var target = policy.Tabulate(instance);
        var capped = policy.TabulateSampler(instance);
        var diag = policy.EvaluationDiagnostics(instance);
        double jOpt = ExactEvaluator.OptimalValue(instance);
        double subTarget = jOpt - ExactEvaluator.Value(instance, target);
        double subSampler = diag["suboptimality_sampler"];
        Assert.Equal(jOpt - ExactEvaluator.Value(instance, capped), subSampler, 15);
        Assert.True(diag["output_target_coverage_max"] > 3, "the test needs a target the sampler caps");
        // The cap is visible in the value: the sampler's output is clearly worse than its target.
        Assert.True(subSampler > 4 * subTarget + 0.02, $"sampler {subSampler} vs target {subTarget}");

        // 10 000 real draws per prompt (χ², 11 dof, threshold 35.7 ≈ p = 1e-4). Power: the same draws must reject the
        // target (measured χ² ≈ 1000 and 400).
        var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
        var rng = new Rng(77);
        const int draws = 10_000;
        int failures = 0;
        for (int x = 0; x < 2; x++)
        {
            while (env.DrawPrompt(rng) != x) { }     // the oracle answers only about prompts the learner has received
            var counts = new int[12];
            for (int i = 0; i < draws; i++)
            {
                var draw = policy.Sample(env, x, rng);
                counts[draw.Response]++;
                if (draw.Failed) failures++;
            }
            double chi2Capped = Chi2(counts, capped.LogProbs[x], draws);
            double chi2Target = Chi2(counts, target.LogProbs[x], draws);
            Assert.True(chi2Capped < 35.7, $"prompt {x}: χ² against the capped law = {chi2Capped}");
            Assert.True(chi2Target > 100, $"prompt {x}: χ² against the target = {chi2Target} — the test has no power");
        }
        // Failure rate (1 − p)^N against the formula (both prompts weigh 0.5): within 4 binomial standard deviations.
        double predicted = diag["output_sampler_failure_mean"];
        double sd = Math.Sqrt(predicted * (1 - predicted) / (2 * draws));
        Assert.InRange(failures / (2.0 * draws), predicted - 4 * sd - 1e-4, predicted + 4 * sd + 1e-4);
    }

    [Fact]
    public void GenerousCoverage_DiffersFromTheTargetOnlyByTheFailureBranch()
    {
        // M = 10 ≥ e² ≥ the target's coverage for every anchor: every proposal is accepted with probability p = 1/M, so
        // per anchor P(y) = (1 − F)·π̄(y) + F·π_ref(y) with F = (1 − 1/M)^{N−1} — and so is the mixture.
        var instance = SmallInstance();
        var sampler = new SoftmaxSampler(1.0, coverageGuess: 10, delta: 0.1);
        var policy = new AnchoredTruncatedPolicy(ThetaHat, SigmaInverse, 0.8, sampler, 5);
        var diag = policy.EvaluationDiagnostics(instance);
        Assert.True(diag["output_target_coverage_max"] <= 10);
        double failure = Math.Pow(1 - 1.0 / 10, sampler.MaxProposals - 1);
        Assert.InRange(failure, 1e-7, 1e-5);     // N = 148: F ≈ 1.7e-7, below δ/4
        AssertMixtureOfTargetAndReference(instance, policy, failure, 1e-12);
        AssertWithinFailureBranchBounds(instance, policy, failure, diag["suboptimality_sampler"]);
    }

    [Fact]
    public void SpannerRun_StarvedVersusGenerousRejectionCoverage()
    {
        // A starved run (M_rej = 1 on a needle of coverage 30): the headline suboptimality, the target's, stays small
        // while the sampler's output loses most of J_opt − J_ref; with M_rej = 4·C_cov the two agree.
        var instance = SpannerSamplingTests.SmallNeedle(30);
        RunResult Run(string coverage) => Runner.Run(new RunRequest("needle", instance, "spanner",
            new Dictionary<string, string> { ["epsilon"] = "0.01", ["rejection-coverage"] = coverage }, 3, null, null));
        var starved = Run("1");
        double starvedSampler = starved.Diagnostics["suboptimality_sampler"];
        Assert.True(starved.Diagnostics["output_target_coverage_max"] > 10);
        Assert.True(starved.Suboptimality < 0.01, $"target suboptimality {starved.Suboptimality}");
        Assert.True(starvedSampler > 0.3 * (starved.JOpt - starved.JRef), $"sampler {starvedSampler}, J_opt − J_ref {starved.JOpt - starved.JRef}");

        var generous = Run("120");
        Assert.True(generous.Diagnostics["output_target_coverage_max"] <= 120);
        double failure = generous.Diagnostics["output_sampler_failure_mean"];
        Assert.True(failure < 1e-6, $"failure {failure}");
        // Convexity of KL along π̂ → π_ref (see AssertWithinFailureBranchBounds) bounds the upward gap by
        // F·(J_opt − J_ref) with F = (1 − 1/M)^{N−1} = failure/(1 − 1/M).
        double gap = generous.Diagnostics["suboptimality_sampler"] - generous.Suboptimality;
        Assert.True(gap <= failure / (1 - 1.0 / 120) * (generous.JOpt - generous.JRef) + 1e-12, $"gap {gap}");
        Assert.True(Math.Abs(gap) <= 1e-6 * Math.Max(1, generous.Suboptimality) + 1e-9, $"gap {gap}");
    }

    [Fact]
    public void GenerousRunPolicy_IsTheFailureBranchMixture()
    {
        // The same identity and bounds on a policy a real run learned (needle, exact tabulation, 4 × 300 responses).
        var instance = InstanceCatalog.Create("needle", SpannerSamplingTests.SmallNeedle(30), 3);
        var algorithm = new SpannerSampling(new Dictionary<string, string> { ["epsilon"] = "0.01", ["rejection-coverage"] = "120" });
        var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1).Split("noise"));
        var policy = Assert.IsType<AnchoredTruncatedPolicy>(algorithm.Run(env, new Rng(2), null, CancellationToken.None).Policy);
        var diag = policy.EvaluationDiagnostics(instance);
        Assert.True(diag["output_target_coverage_max"] <= 120);
        double failure = Math.Pow(1 - 1.0 / 120, policy.Sampler.MaxProposals - 1);
        AssertMixtureOfTargetAndReference(instance, policy, failure, 1e-9);
        AssertWithinFailureBranchBounds(instance, policy, failure, diag["suboptimality_sampler"]);
    }

    [Theory]
    [InlineData(0.5, 10L)]
    [InlineData(1e-8, 100_000_000L)]
    [InlineData(1e-12, 1_000_000_000_000_000L)]    // (N − 1)·p = 1000: F underflows to 0, S = 1/p
    [InlineData(1e-300, 1_000_000_000_000_000L)]   // S = N − 1 with no cancellation
    [InlineData(1.0, 15L)]
    public void CappedSamplerWeights_AreStableForTinyPAndHugeN(double p, long n)
    {
        var (s, f) = AnchoredTruncatedPolicy.CappedSamplerWeights(p, n);
        Assert.True(double.IsFinite(s) && double.IsFinite(f) && s >= 0 && f >= 0 && f <= 1);
        Assert.Equal(1.0, p * s + f, 12);                                   // Σ_y P(y) = p·S + F = 1
        // Reference in extended form: S = Σ_{i<N−1} (1 − p)^i, F = (1 − p)^{N−1} via exp of a decimal log1p series.
        double logOneMinusP = p < 1e-4 ? -p - p * p / 2 - p * p * p / 3 : Math.Log(1 - p);
        double expectedF = p >= 1 ? 0 : Math.Exp((n - 1) * logOneMinusP);
        double expectedS = p >= 1 ? 1 : (n - 1) * p < 1e-6 ? (n - 1) * (1 - (n - 2) * p / 2) : (1 - expectedF) / p;
        Assert.True(Math.Abs(f - expectedF) <= 1e-12 * Math.Max(expectedF, 1e-300) + 1e-300, $"F {f} vs {expectedF}");
        Assert.True(Math.Abs(s - expectedS) <= 1e-9 * expectedS, $"S {s} vs {expectedS}");
    }

    [Theory]
    [InlineData(1.0, 1.0)]        // fast path of the tabulation
    [InlineData(1e-3, 1.0)]       // scores spread ≫ 600: exact log-space path, coverage well above M
    [InlineData(1.0, 1e-300)]     // a response with π_ref ≈ 1e-300
    public void CappedLaw_MatchesNaiveReference(double beta, double tinyMass)
    {
        var instance = ExtremeInstance(beta, tinyMass);
        var prompt = instance.Prompts[0];
        int n = prompt.ResponseCount, d = prompt.Dimension;
        double[] logRef = prompt.LogRefProbs, features = prompt.FeatureMatrix.ToArray();
        double[] thetaHat = [0.7, -0.5, 0.4], sigmaInverse = [3, 0.5, 0, 0.5, 2, 0.2, 0, 0.2, 4];
        var sampler = new SoftmaxSampler(beta, 3, 0.1);
        var policy = new AnchoredTruncatedPolicy(thetaHat, sigmaInverse, 0.9, sampler, 1);
        var table = policy.TabulateSampler(instance).LogProbs[0];

        // Naive: for each anchor a, π̄ from log weights, a(y)π_ref(y) = min(π_ref, π̄/M), p, then S and F by Math.Pow.
        var reference = new double[n];
        long proposals = sampler.MaxProposals;
        for (int a = 0; a < n; a++)
        {
            var logW = new double[n];
            for (int y = 0; y < n; y++)
            {
                double q = 0, score = 0;
                for (int i = 0; i < d; i++)
                {
                    double vi = features[y * d + i] - features[a * d + i];
                    score += thetaHat[i] * vi;
                    for (int j = 0; j < d; j++) q += vi * sigmaInverse[i * d + j] * (features[y * d + j] - features[a * d + j]);
                }
                logW[y] = logRef[y] + (q <= 0.81 ? score / beta : 0);
            }
            double logZ = LogMath.LogSumExp(logW);
            var acceptMass = new double[n];
            for (int y = 0; y < n; y++) acceptMass[y] = Math.Min(Math.Exp(logRef[y]), Math.Exp(logW[y] - logZ) / 3);
            double p = acceptMass.Sum();
            double f = Math.Pow(1 - p, proposals - 1), s = (1 - f) / p;
            for (int y = 0; y < n; y++) reference[y] += Math.Exp(logRef[a]) * (s * acceptMass[y] + f * Math.Exp(logRef[y]));
        }
        for (int y = 0; y < n; y++)
        {
            double expected = reference[y], actual = Math.Exp(table[y]);
            Assert.True(Math.Abs(actual - expected) <= 1e-9 * expected + 1e-300, $"y={y}: reference {expected}, tabulated {actual}");
        }
        if (beta < 0.01) Assert.True(policy.EvaluationDiagnostics(instance)["output_target_coverage_max"] > 3 * 3, "the cap (M = 3) must bite at β = 1e-3");
    }

    [Fact]
    public void MonteCarloOverAnchors_SamplerLawAgreesWithExact()
    {
        // Above 4096 responses the capped law uses the same 256 Monte Carlo anchors as the target (forced here with
        // exactLimit 0); its suboptimality must agree with the exact one within 4 of its reported standard errors.
        var instance = InstanceCatalog.Create("needle", SpannerSamplingTests.SmallNeedle(30), 4);
        int d = instance.Dimension;
        var theta = instance.Theta.Select(t => 0.9 * t).ToArray();
        var sigmaInverse = new double[d * d];
        for (int i = 0; i < d; i++) sigmaInverse[i * d + i] = 0.18;
        var sampler = new SoftmaxSampler(instance.Beta, 5, 0.1);       // M = 5 ≪ C_cov = 30: capped
        var exact = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, sampler, 9).EvaluationDiagnostics(instance);
        var monteCarlo = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, sampler, 9, exactLimit: 0).EvaluationDiagnostics(instance);
        Assert.False(exact.ContainsKey("suboptimality_sampler_mc_stderr"));
        double stderr = monteCarlo["suboptimality_sampler_mc_stderr"];
        Assert.True(exact["suboptimality_sampler"] > 0.02, $"the test needs a capped sampler, got {exact["suboptimality_sampler"]}");
        Assert.True(Math.Abs(monteCarlo["suboptimality_sampler"] - exact["suboptimality_sampler"]) <= 4 * stderr + 1e-9,
            $"MC {monteCarlo["suboptimality_sampler"]} vs exact {exact["suboptimality_sampler"]}, stderr {stderr}");
    }

    [Fact]
    public void Passive_SamplerLawIsTheFailureBranchMixture()
    {
        // Passive's output sampler uses M_x = C_cov(π_θ̂(·|x)) exactly, so its law is (1 − F_x)·π_θ̂ + F_x·π_ref with
        // F_x = (1 − 1/M_x)^{N−1}. δ = 0.9 makes N small enough (≈ 6·M) for F to be visible.
        var instance = SmallInstance();
        double[] theta = ThetaHat.Select(t => 3 * t).ToArray();
        const double delta = 0.9;
        var policy = new LinearSoftmaxOutputPolicy(theta, delta);
        var target = policy.Tabulate(instance);
        var mixed = new double[instance.Prompts.Count][];
        for (int x = 0; x < mixed.Length; x++)
        {
            var logRef = instance.Prompts[x].LogRefProbs;
            double m = Enumerable.Range(0, logRef.Length).Max(y => Math.Exp(target.LogProbs[x][y] - logRef[y]));
            double f = Math.Pow(1 - 1 / m, Math.Ceiling(4 * m * Math.Log(4 / delta)) - 1);
            mixed[x] = Enumerable.Range(0, logRef.Length)
                .Select(y => Math.Log((1 - f) * Math.Exp(target.LogProbs[x][y]) + f * Math.Exp(logRef[y]))).ToArray();
        }
        double jOpt = ExactEvaluator.OptimalValue(instance);
        double expected = jOpt - ExactEvaluator.Value(instance, new TabularPolicy(mixed));
        double sub = jOpt - ExactEvaluator.Value(instance, target);
        double actual = Assert.IsAssignableFrom<IEvaluationDiagnostics>(policy).EvaluationDiagnostics(instance)["suboptimality_sampler"];
        Assert.Equal(expected, actual, 12);
        Assert.True(Math.Abs(actual - sub) > 1e-4, $"the failure branch must be visible: {actual} vs {sub}");
    }

    /// <summary>P_sampler = (1 − F)·π̂ + F·π_ref, entrywise within a relative tolerance.</summary>
    private static void AssertMixtureOfTargetAndReference(EnumerableInstance instance, AnchoredTruncatedPolicy policy, double failure, double tolerance)
    {
        var target = policy.Tabulate(instance).LogProbs;
        var capped = policy.TabulateSampler(instance).LogProbs;
        for (int x = 0; x < target.Length; x++)
            for (int y = 0; y < target[x].Length; y++)
            {
                double expected = (1 - failure) * Math.Exp(target[x][y]) + failure * Math.Exp(instance.Prompts[x].LogRefProbs[y]);
                double actual = Math.Exp(capped[x][y]);
                Assert.True(Math.Abs(actual - expected) <= tolerance * expected + 1e-300, $"x={x}, y={y}: {actual} vs {expected}");
            }
    }

    /// <summary>
    /// With q = (1 − F)·π̂ + F·π_ref and g(t) = β·KL(π̂ + t(π_ref − π̂) ‖ π*) convex: g(F) ≤ (1 − F)g(0) + F·g(1) (chord) and
    /// g(F) ≥ g(0) + F·g'(0) (tangent), g'(0) = β·E_x[E_{π_ref} log(π̂/π*) − KL(π̂‖π*)]. So
    /// (1 − F)·sub + F·β·E_x E_{π_ref} log(π̂/π*) ≤ suboptimality_sampler ≤ (1 − F)·sub + F·(J_opt − J_ref).
    /// </summary>
    private static void AssertWithinFailureBranchBounds(EnumerableInstance instance, AnchoredTruncatedPolicy policy, double failure, double subSampler)
    {
        var target = policy.Tabulate(instance);
        double jOpt = ExactEvaluator.OptimalValue(instance), jRef = ExactEvaluator.ReferenceValue(instance);
        double sub = jOpt - ExactEvaluator.Value(instance, target);
        var optimal = TabularPolicy.LinearSoftmax(instance, instance.Theta);
        double refLogRatio = 0, weights = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var prompt = instance.Prompts[x];
            double inner = 0;
            for (int y = 0; y < prompt.ResponseCount; y++)
                inner += Math.Exp(prompt.LogRefProbs[y]) * (target.LogProbs[x][y] - optimal.LogProbs[x][y]);
            refLogRatio += prompt.Weight * inner;
            weights += prompt.Weight;
        }
        refLogRatio *= instance.Beta / weights;
        double lower = (1 - failure) * sub + failure * refLogRatio, upper = (1 - failure) * sub + failure * (jOpt - jRef);
        double slack = 1e-12 * Math.Max(1, Math.Abs(jOpt));
        Assert.InRange(subSampler, lower - slack, upper + slack);
        Assert.True(upper - lower < 1e-4, $"bounds [{lower}, {upper}] too loose to test anything");
    }
}
