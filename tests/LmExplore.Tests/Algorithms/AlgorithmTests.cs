using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Algorithms;

public class SpannerSamplingTests
{
    internal static Dictionary<string, string> SmallNeedle(double coverage) => new()
    {
        ["ccov"] = coverage.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["beta"] = "0.1", ["R"] = "1", ["noise"] = "gaussian", ["sigma"] = "0.1",
        ["d"] = "4", ["prompts"] = "4", ["responses"] = "300",
    };

    private static RunRequest Spanner(Dictionary<string, string> instance, string instanceFamily = "needle", ulong seed = 1,
        long? budgetComp = null, long? budgetData = null, Dictionary<string, string>? algo = null) =>
        new(instanceFamily, instance, "spanner", algo ?? new Dictionary<string, string> { ["epsilon"] = "0.01" }, seed, budgetComp, budgetData);

    [Fact]
    public void ReachesEpsilon_OnSmallNeedle_WithFlatData()
    {
        var r = Runner.Run(Spanner(SmallNeedle(300), budgetComp: 2000 * 300));
        Assert.Equal("ok", r.Status);
        Assert.True(r.Suboptimality <= 0.01, $"suboptimality {r.Suboptimality}");
        Assert.True(r.JOpt - r.JRef > 0.1, "the instance must have a real gap to close");
        Assert.InRange(r.CCov, 299, 301);
        Assert.True(r.TComp <= 2000 * 300);
        // No reward for failed spanner pairs: T_data = 2·(|Ψ| + T_exp) exactly.
        Assert.Equal(2 * (r.Diagnostics["spanner_size"] + r.Diagnostics["exploration_rounds"]), r.TData);
        Assert.True(r.Diagnostics["phase1_pairs"] > 10 * r.Diagnostics["spanner_size"], "most candidate pairs must fail the test");
        Assert.Equal(1, r.Diagnostics["output_tabulation_exact"]);
        Assert.True(r.OutputSampleCost > 1);
        Assert.Equal(r.JOpt - r.JOut, r.Suboptimality);
        Assert.True(r.Diagnostics["suboptimality_untruncated"] >= -1e-12);
        Assert.Equal(0, r.Diagnostics["sampler_failures"]);
        Assert.Equal(1, r.Diagnostics["phase1_stop"]);     // the anytime failure streak ended Phase 1
    }

    [Fact]
    public void ReachesEpsilon_OnSmallLinear()
    {
        var instance = new Dictionary<string, string> { ["prompts"] = "3", ["responses"] = "150", ["d"] = "4", ["B"] = "1", ["beta"] = "0.2" };
        var r = Runner.Run(Spanner(instance, "linear", budgetComp: 300_000, algo: new() { ["epsilon"] = "0.02" }));
        Assert.Equal("ok", r.Status);
        Assert.True(r.JOpt - r.JRef > 0.2, $"gap {r.JOpt - r.JRef}");
        Assert.True(r.Suboptimality <= 0.02, $"suboptimality {r.Suboptimality}");
        Assert.Equal(2 * (r.Diagnostics["spanner_size"] + r.Diagnostics["exploration_rounds"]), r.TData);
    }

    [Theory]
    [InlineData(300L, null)]
    [InlineData(null, 20L)]
    [InlineData(5000L, 21L)]
    public void NeverExceedsBudgets_TinyBudgetsExhaust(long? budgetComp, long? budgetData)
    {
        var r = Runner.Run(Spanner(SmallNeedle(300), budgetComp: budgetComp, budgetData: budgetData));
        Assert.Equal("budget_exhausted", r.Status);
        if (budgetComp is long c) Assert.True(r.TComp <= c, $"T_comp {r.TComp} > {c}");
        if (budgetData is long b) Assert.True(r.TData <= b, $"T_data {r.TData} > {b}");
        Assert.True(double.IsFinite(r.Suboptimality) && double.IsFinite(r.OutputSampleCost));
    }

    [Fact]
    public void SameSeedSameResult_OtherSeedDiffers()
    {
        var a = Runner.Run(Spanner(SmallNeedle(100), budgetComp: 200_000, seed: 7));
        var b = Runner.Run(Spanner(SmallNeedle(100), budgetComp: 200_000, seed: 7));
        var c = Runner.Run(Spanner(SmallNeedle(100), budgetComp: 200_000, seed: 8));
        Assert.Equal(RunResultJson.Serialize(a with { WallSeconds = 0 }), RunResultJson.Serialize(b with { WallSeconds = 0 }));
        Assert.NotEqual(RunResultJson.Serialize(a with { WallSeconds = 0 }), RunResultJson.Serialize(c with { WallSeconds = 0 }));
    }

    [Theory]
    [InlineData("spanner", "bogus", "1", "unknown algo-param 'bogus'")]
    [InlineData("spanner", "nu", "-1", "'nu'")]
    [InlineData("spanner", "epsilon", "abc", "'epsilon'")]
    [InlineData("spanner", "delta", "1", "'delta'")]
    [InlineData("spanner", "candidate-pairs", "2.5", "'candidate-pairs'")]
    [InlineData("spanner", "anytime", "maybe", "'anytime'")]
    [InlineData("passive", "pairs", "-3", "'pairs'")]
    [InlineData("passive", "nu", "0.5", "unknown algo-param 'nu'")]
    public void BadAlgoParams_AreInputErrors(string algorithm, string key, string value, string expected)
    {
        var e = Assert.Throws<InputException>(() => AlgorithmCatalog.Create(algorithm, new Dictionary<string, string> { [key] = value }));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void UnknownAndReservedAlgorithms_AreInputErrors()
    {
        var unknown = Assert.Throws<InputException>(() => AlgorithmCatalog.Create("sgd", null));
        Assert.Contains("spanner", unknown.Message);
        Assert.Contains("passive", unknown.Message);
        foreach (var reserved in AlgorithmCatalog.Reserved)
            Assert.Contains("not implemented yet", Assert.Throws<InputException>(() => AlgorithmCatalog.Create(reserved, null)).Message);
        var request = new RunRequest("needle", SmallNeedle(10), "xpo", new Dictionary<string, string>(), 1);
        Assert.Throws<InputException>(() => Runner.Run(request));
    }

    [Fact]
    public void Defaults_FollowTheDocumentedRules()
    {
        var s = new SpannerSampling(new Dictionary<string, string> { ["epsilon"] = "0.008" });
        var withBudget = s.Derive(4, 0.1, 2_000_000);
        Assert.Equal(100, withBudget.ExplorationRounds);           // ⌈d·R²/(β·min(ε,β))/50⌉ = ⌈4/(0.1·0.008)/50⌉
        Assert.Equal(500_000, withBudget.Phase1Compute);
        Assert.Equal(125_000, withBudget.CandidatePairs);
        Assert.Null(withBudget.RejectionCoverage);                 // set from the remaining budget at Phase 2
        var halfEpsilon = new SpannerSampling(new Dictionary<string, string> { ["epsilon"] = "0.004" }).Derive(4, 0.1, 2_000_000);
        Assert.Equal(2 * withBudget.ExplorationRounds, halfEpsilon.ExplorationRounds);   // T_exp ∝ 1/ε
        var hinted = new SpannerSampling(new Dictionary<string, string> { ["coverage-hint"] = "50" }).Derive(4, 0.1, null);
        Assert.Equal(100, hinted.RejectionCoverage);
        Assert.Equal((long)Math.Ceiling(50 * Math.Log(10) / 0.01), hinted.CandidatePairs);
        Assert.True(SpannerSampling.EllipticPotentialBound(4, 0.01, 0.5) > 4);
    }
}

public class PassiveTests
{
    [Fact]
    public void SpendsExactlyItsDataBudget()
    {
        var r = Runner.Run(new RunRequest("needle", SpannerSamplingTests.SmallNeedle(10), "passive", new Dictionary<string, string>(), 3, BudgetData: 400));
        Assert.Equal("ok", r.Status);
        Assert.Equal(400, r.TData);
        Assert.Equal(400, r.TComp);
        Assert.True(r.Suboptimality <= 0.01, $"ccov=10 is easy for passive: {r.Suboptimality}");
    }

    [Fact]
    public void PairsParameter_AndComputeBudgetExhaustion()
    {
        var r = Runner.Run(new RunRequest("needle", SpannerSamplingTests.SmallNeedle(10), "passive", new Dictionary<string, string> { ["pairs"] = "30" }, 3));
        Assert.Equal(60, r.TData);
        var starved = Runner.Run(new RunRequest("needle", SpannerSamplingTests.SmallNeedle(10), "passive", new Dictionary<string, string> { ["pairs"] = "30" }, 3, BudgetComp: 15));
        Assert.Equal("budget_exhausted", starved.Status);
        Assert.True(starved.TComp <= 15);
    }
}

public class AnchoredTruncatedPolicyTests
{
    /// <summary>A hand-built instance where |f| ≤ 1 and β = 1, so M = 10 ≥ e² makes the rejection sampler exact
    /// (shared with <see cref="CappedSamplerTests"/>).</summary>
    private static EnumerableInstance SmallInstance() => CappedSamplerTests.SmallInstance();

    [Fact]
    public void ExactTabulation_AgreesWithMonteCarloOfTheSampler()
    {
        var instance = SmallInstance();
        double[] thetaHat = [1.5, 0.8, -1.0];                      // |⟨θ̂, v⟩| ≤ |θ̂|·|v| < 1
        double[] sigmaInverse = [40, 0, 0, 0, 10, 0, 0, 0, 60];
        var sampler = new SoftmaxSampler(1.0, coverageGuess: 10, delta: 0.01, normalizerSamples: 1);
        var policy = new AnchoredTruncatedPolicy(thetaHat, sigmaInverse, 0.8, sampler, 5);
        var exact = policy.Tabulate(instance);

        // The truncation must actually bite, or this test would not test it.
        var untruncated = TabularPolicy.LinearSoftmax(instance, thetaHat);
        double tvUntruncated = 0;
        for (int y = 0; y < 12; y++) tvUntruncated += 0.5 * Math.Abs(Math.Exp(exact.LogProbs[0][y]) - Math.Exp(untruncated.LogProbs[0][y]));
        Assert.True(tvUntruncated > 0.02, $"truncation changes π̂ only by TV {tvUntruncated}");

        // χ² goodness of fit of 40 000 draws per prompt against the tabulation; 11 dof, threshold 35.7 ≈ p = 1e-4.
        var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
        var rng = new Rng(2024);
        const int draws = 40_000;
        double calls = 0;
        for (int x = 0; x < 2; x++)
        {
            while (env.DrawPrompt(rng) != x) { }
            var counts = new int[12];
            for (int i = 0; i < draws; i++)
            {
                var draw = policy.Sample(env, x, rng);
                Assert.False(draw.Failed);
                counts[draw.Response]++;
                calls += draw.OracleCalls;
            }
            double chi2 = 0;
            for (int y = 0; y < 12; y++)
            {
                double expected = draws * Math.Exp(exact.LogProbs[x][y]);
                chi2 += (counts[y] - expected) * (counts[y] - expected) / expected;
            }
            Assert.True(chi2 < 35.7, $"prompt {x}: χ² = {chi2}");
        }
        // Mean cost of a draw against the exact formula 1 + m + E[proposals] (here ≈ 1 + 1 + M): within 3%.
        double meanCost = calls / (2 * draws);
        double predicted = policy.ExpectedSampleCost(instance);
        Assert.InRange(meanCost / predicted, 0.97, 1.03);
    }

    [Fact]
    public void NeedleTabulation_IsAValidDistribution()
    {
        // The must-show size (8 × 2000 responses). Speed is measured in Release, not asserted here: a wall-clock
        // bound is flaky on a shared machine (≈ 0.06 s alone, 0.3 s at load 12; docs/ALGORITHMS.md).
        var instance = InstanceCatalog.Create("needle", NeedleExperiment.InstanceParams(1000), 1);
        var d = instance.Dimension;
        var theta = (double[])instance.Theta.Clone();
        var sigmaInverse = new double[d * d];
        for (int i = 0; i < d; i++) sigmaInverse[i * d + i] = 0.3;
        var policy = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, new SoftmaxSampler(0.1, 2000, 0.1), 1);
        var table = policy.Tabulate(instance);
        double cost = policy.ExpectedSampleCost(instance);
        // With Σ⁻¹ = 0.3·I the needle pairs (|v|² = 1.25) and far distractor pairs are truncated: still a distribution.
        foreach (var row in table.LogProbs) Assert.InRange(row.Sum(Math.Exp), 1 - 1e-9, 1 + 1e-9);
        Assert.True(cost > 1);
        Assert.True(ExactEvaluator.OptimalValue(instance) - ExactEvaluator.Value(instance, table) >= -1e-12);
    }
}

public class MonteCarloTabulationTests
{
    [Fact]
    public void MonteCarloOverAnchors_AgreesWithExactTabulation()
    {
        var instance = InstanceCatalog.Create("needle", SpannerSamplingTests.SmallNeedle(30), 4);
        int d = instance.Dimension;
        var theta = instance.Theta.Select(t => 0.7 * t).ToArray();     // a wrong θ̂, so the output is not π*
        // Σ⁻¹ = 0.18·I except 0.6 on one distractor axis: the needle (|u − φ|² = 1.25) is truncated against the
        // distractors that lean on that axis and kept against the others.
        int axis = Array.FindIndex(instance.Theta, t => t != 0);
        var sigmaInverse = new double[d * d];
        for (int i = 0; i < d; i++) sigmaInverse[i * d + i] = 0.18;
        sigmaInverse[((axis + 1) % d) * (d + 1)] = 0.6;
        var sampler = new SoftmaxSampler(instance.Beta, 100, 0.1);
        var exact = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, sampler, 9);
        var monteCarlo = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, sampler, 9, exactLimit: 0);
        double jOpt = ExactEvaluator.OptimalValue(instance);
        double subExact = jOpt - ExactEvaluator.Value(instance, exact.Tabulate(instance));
        double subMc = jOpt - ExactEvaluator.Value(instance, monteCarlo.Tabulate(instance));
        var diag = monteCarlo.EvaluationDiagnostics(instance);
        Assert.Equal(0, diag["output_tabulation_exact"]);
        Assert.Equal(1, exact.EvaluationDiagnostics(instance)["output_tabulation_exact"]);
        double stderr = diag["output_mc_stderr"];
        Assert.True(subExact > 0.001, $"the test needs a visible suboptimality, got {subExact}");
        // The batch-based standard error is conservative; allow 4 of them (plus rounding).
        Assert.True(Math.Abs(subMc - subExact) <= 4 * stderr + 1e-9, $"MC {subMc} vs exact {subExact}, stderr {stderr}");
        Assert.InRange(monteCarlo.ExpectedSampleCost(instance) / exact.ExpectedSampleCost(instance), 0.8, 1.25);
    }
}

public class AnchoredTabulationReferenceTests
{
    /// <summary>Independent O(N²·d²) log-space reference: π̂(y) = Σ_a π_ref(a)·π_ref(y)e^{f_a(y)/β}/Z_a.</summary>
    private static double[] Reference(EnumerablePrompt prompt, double[] theta, double[] sigmaInverse, double nu, double beta)
    {
        int n = prompt.ResponseCount, d = theta.Length;
        var logMixture = Enumerable.Repeat(double.NegativeInfinity, n).ToArray();
        var logW = new double[n];
        for (int a = 0; a < n; a++)
        {
            for (int y = 0; y < n; y++)
            {
                var v = new double[d];
                for (int i = 0; i < d; i++) v[i] = prompt.FeatureRow(y)[i] - prompt.FeatureRow(a)[i];
                double q = 0, score = 0;
                for (int i = 0; i < d; i++)
                {
                    score += theta[i] * v[i];
                    for (int j = 0; j < d; j++) q += v[i] * sigmaInverse[i * d + j] * v[j];
                }
                logW[y] = prompt.LogRefProbs[y] + (q <= nu * nu ? score / beta : 0);
            }
            double logZ = LogMath.LogSumExp(logW);
            for (int y = 0; y < n; y++) logMixture[y] = LogMath.LogAddExp(logMixture[y], prompt.LogRefProbs[a] + logW[y] - logZ);
        }
        return logMixture;
    }

    [Theory]
    [InlineData(1.0, 1.0)]        // fast path (SIMD select)
    [InlineData(1e-3, 1.0)]       // scores spread ≫ 600: exact log-space path
    [InlineData(1.0, 1e-300)]     // a response with π_ref ≈ 1e-300: log π_ref spread > 600
    public void Tabulation_MatchesNaiveLogSpaceReference(double beta, double tinyMass)
    {
        var instance = CappedSamplerTests.ExtremeInstance(beta, tinyMass);
        var prompt = instance.Prompts[0];
        int n = prompt.ResponseCount, d = prompt.Dimension;
        double[] features = prompt.FeatureMatrix.ToArray();
        double[] thetaHat = [0.7, -0.5, 0.4];
        double[] sigmaInverse = [3, 0.5, 0, 0.5, 2, 0.2, 0, 0.2, 4];
        var policy = new AnchoredTruncatedPolicy(thetaHat, sigmaInverse, 0.9, new SoftmaxSampler(beta, 10, 0.1), 1);
        var table = policy.Tabulate(instance).LogProbs[0];
        var reference = Reference(prompt, thetaHat, sigmaInverse, 0.9, beta);
        int truncated = 0;
        for (int y = 0; y < n; y++)
        {
            double p = Math.Exp(reference[y]), q = Math.Exp(table[y]);
            Assert.True(Math.Abs(p - q) <= 1e-9 * Math.Max(p, 1e-6), $"y={y}: reference {p}, tabulated {q}");
            if (reference[y] > -700) Assert.True(Math.Abs(reference[y] - table[y]) <= 1e-6, $"y={y}: log {reference[y]} vs {table[y]}");
        }
        for (int y = 1; y < n; y++)
        {
            var v = new double[d];
            for (int i = 0; i < d; i++) v[i] = features[y * d + i] - features[i];
            double q = 0;
            for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) q += v[i] * sigmaInverse[i * d + j] * v[j];
            if (q > 0.81) truncated++;
        }
        Assert.InRange(truncated, 1, n - 2);   // the truncation is active for some pairs and not for others
    }
}
