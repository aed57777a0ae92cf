using LmExplore.Runs;
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
    internal static Dictionary<string, string> SmallNeedle(double coverage) => Tests.Support.PolicyFixtures.SmallNeedle(coverage);

    private static RunRequest Spanner(Dictionary<string, string> instance, string instanceFamily = "needle", ulong seed = 1,
        long? budgetComp = null, long? budgetData = null, Dictionary<string, string>? algo = null) =>
        new(instanceFamily, instance, "spanner", algo ?? new Dictionary<string, string> { ["epsilon"] = "0.01" }, seed, budgetComp, budgetData);

    [Fact]
    public void ReachesEpsilon_OnSmallNeedle_WithFlatData()
    {
        var r = Runner.Run(Spanner(SmallNeedle(300), budgetComp: 2000 * 300));
        // The status may be budget_exhausted: the coverage estimate after Phase 1 (SampleLog) can be far above C_cov,
        // and then the budget left does not pay for an exploration round. The spanner alone reaches ε here.
        Assert.Contains(r.Status, new[] { "ok", "budget_exhausted" });
        Assert.True(r.Suboptimality <= 0.01, $"suboptimality {r.Suboptimality}");
        Assert.True(r.JOpt - r.JRef > 0.1, "the instance must have a real gap to close");
        Assert.InRange(r.CCov, 299, 301);
        Assert.True(r.TComp <= 2000 * 300);
        // No reward for failed spanner pairs: T_data = 2·(|Ψ| + T_exp) exactly.
        Assert.Equal(2 * (r.Diagnostics["spanner_size"] + r.Diagnostics["exploration_rounds"]), r.TData);
        Assert.True(r.Diagnostics["phase1_pairs"] > 10 * r.Diagnostics["spanner_size"], "most candidate pairs must fail the test");
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, r.Evaluation);
        Assert.Null(r.SuboptimalityCiLow);
        Assert.True(r.ReachedEpsilon);
        Assert.Equal(0.01, r.Epsilon);
        Assert.True(r.OutputSampleCost > 1);
        Assert.Equal(r.JOpt - r.JOut, r.Suboptimality);
        Assert.True(r.SuboptimalityTarget >= -1e-12);
        Assert.Equal(0, r.Diagnostics["sampler_failures"]);
        Assert.Equal(1, r.Diagnostics["phase1_stop"]);     // the anytime failure streak ended Phase 1
    }

    [Fact]
    public void ReachesEpsilon_OnSmallLinear()
    {
        var instance = new Dictionary<string, string> { ["prompts"] = "3", ["responses"] = "150", ["d"] = "4", ["B"] = "1", ["beta"] = "0.2" };
        var r = Runner.Run(Spanner(instance, "linear", budgetComp: 300_000, algo: new() { ["epsilon"] = "0.02" }));
        // Phase 1's anytime stop needs one prompt with K_span = B₁/4 uninformative pairs; whether it fits in the share
        // depends on the draws, and either way the run must reach ε.
        Assert.Contains(r.Status, new[] { "ok", "budget_exhausted" });
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
        var e = Assert.Throws<InputException>(() => AlgorithmRegistry.Create(algorithm, new Dictionary<string, string> { [key] = value }));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void UnknownAndReservedAlgorithms_AreInputErrors()
    {
        var unknown = Assert.Throws<InputException>(() => AlgorithmRegistry.Create("sgd", null));
        Assert.Contains("spanner", unknown.Message);
        Assert.Contains("passive", unknown.Message);
        foreach (var reserved in Array.Empty<string>())
            Assert.Contains("not implemented yet", Assert.Throws<InputException>(() => AlgorithmRegistry.Create(reserved, null)).Message);
        var request = new RunRequest("needle", SmallNeedle(10), "mtss", new Dictionary<string, string>(), 1);
        Assert.Throws<InputException>(() => Runner.Run(request));
    }

    [Fact]
    public void Defaults_FollowTheDocumentedRules()
    {
        var s = new SpannerSampling(new Dictionary<string, string> { ["epsilon"] = "0.008" });
        var withBudget = s.Derive(4, 0.1, 2_000_000);
        Assert.Equal(100, withBudget.ExplorationRounds);           // ⌈d·R²/(β·min(ε,β))/50⌉ = ⌈4/(0.1·0.008)/50⌉
        Assert.Equal(1_000_000, withBudget.Phase1Compute);            // B₁ = B/2
        Assert.Equal(250_000, withBudget.CandidatePairs);             // K_span = ⌊B₁/4⌋
        Assert.Null(withBudget.RejectionCoverage);                 // set from the remaining budget at Phase 2
        var halfEpsilon = new SpannerSampling(new Dictionary<string, string> { ["epsilon"] = "0.004" }).Derive(4, 0.1, 2_000_000);
        Assert.Equal(2 * withBudget.ExplorationRounds, halfEpsilon.ExplorationRounds);   // T_exp ∝ 1/ε
        var hinted = new SpannerSampling(new Dictionary<string, string> { ["coverage-hint"] = "50" }).Derive(4, 0.1, null);
        Assert.Equal(100, hinted.RejectionCoverage);
        // K_span = ⌈(C/2)·ln(T_span/δ)⌉: each of up to T_span searches misses a response of mass 1/C with probability ≤ δ/T_span.
        Assert.Equal((long)Math.Ceiling(50 / 2.0 * Math.Log(Math.Max(2, hinted.SpannerPrompts) / 0.1)), hinted.CandidatePairs);
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
