using LmExplore.Experiments;
using LmExplore.Experiments.Reproduce;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Tests.Experiments.Reproduce;

/// <summary>E4's sweeps are valid, registered, and run SpannerSampling only where its headline can be computed
/// (the sweep format's per-entry <c>only</c>).</summary>
public class E4ConfigTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void E4Sweep_RunsEachMethodAtItsHorizons(bool quick)
    {
        var e4 = ExperimentRegistry.All.Single(e => e.Id == "E4");
        var plan = SweepPlan.Create(SweepConfig.Parse(e4.SweepConfigJson(quick)));
        int H(SweepRun r) => int.Parse(r.Settings["instance.horizon"]);
        var spanner = plan.Runs.Where(r => r.Request.Algorithm == "spanner").ToList();
        Assert.NotEmpty(spanner);
        Assert.All(spanner, r => Assert.True(H(r) <= 12, $"spanner at H = {H(r)}"));   // V^H ≤ 3^12 < 2^20
        Assert.Contains(plan.Runs, r => r.Request.Algorithm == "mtss" && H(r) == (quick ? 16 : 30));
        Assert.All(plan.Runs.Where(r => r.Request.Algorithm == "mtss"), r => Assert.Null(r.Request.BudgetComp));
        // SpannerSampling's token budget is ⌈m·H³⌉, its sample budget ⌈m·H²⌉ (H tokens per sequence sample): the token
        // budget is the one that binds, the sample budget within one sample of it.
        Assert.All(spanner.Where(r => r.Request.BudgetTokens is not null), r =>
            Assert.InRange(r.Request.BudgetTokens!.Value, (r.Request.BudgetComp!.Value - 1) * H(r), r.Request.BudgetComp.Value * H(r)));
    }

    [Fact]
    public void Only_MustNameAGridAxis()
    {
        const string config = """
            { "format": "lmexplore.sweep/v1", "name": "t", "instance": "chain", "grid": { "horizon": [2, 3] },
              "algorithms": [ { "name": "mtss", "only": { "vocab": [3] } } ] }
            """;
        var e = Assert.Throws<InputException>(() => SweepConfig.Parse(config));
        Assert.Contains("only.vocab", e.Message);
        const string ok = """
            { "format": "lmexplore.sweep/v1", "name": "t", "instance": "chain", "grid": { "horizon": [2, 3, 4] },
              "algorithms": [ "mtss", { "name": "spanner", "only": { "horizon": [3] } } ], "seeds": 2 }
            """;
        var plan = SweepPlan.Create(SweepConfig.Parse(ok));
        Assert.Equal(6, plan.Runs.Count(r => r.Request.Algorithm == "mtss"));
        Assert.Equal(2, plan.Runs.Count(r => r.Request.Algorithm == "spanner"));
    }
}
