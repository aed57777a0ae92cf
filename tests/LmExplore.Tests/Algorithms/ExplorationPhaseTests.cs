using LmExplore.Runs;
using LmExplore.Experiments;

namespace LmExplore.Tests.Algorithms;

/// <summary>
/// What Phase 2 (exploration) is for: on <c>linear</c> with reward noise σ = 0.2 (d = 8, β = 0.1, ε = 0.008), the
/// spanner alone (≈ 60 informative pairs spread over 8 directions) leaves least-squares errors whose suboptimality
/// σ²d/(β·n) is above ε, and the 200 exploration rounds — pairs drawn where the learned policy puts its mass — bring
/// it below. Same seeds, same budget; only <c>exploration-rounds=0</c> differs (docs/EXPERIMENTS-needle.md).
/// </summary>
public class ExplorationPhaseTests
{
    private static RunResult Run(ulong seed, bool phase1Only) => Runner.Run(new RunRequest("linear",
        new Dictionary<string, string> { ["noise"] = "gaussian", ["sigma"] = "0.2" }, "spanner",
        phase1Only
            ? new Dictionary<string, string> { ["epsilon"] = "0.008", ["exploration-rounds"] = "0" }
            : new Dictionary<string, string> { ["epsilon"] = "0.008" },
        seed, BudgetComp: 2_000_000));

    [Fact]
    public void Phase1AloneMissesEpsilon_WhereTheFullAlgorithmReachesIt()
    {
        var seeds = Enumerable.Range(1, 10).Select(s => (ulong)s).ToArray();
        var full = seeds.AsParallel().Select(s => Run(s, phase1Only: false)).ToList();
        var phase1 = seeds.AsParallel().Select(s => Run(s, phase1Only: true)).ToList();
        int fullReached = full.Count(r => r.ReachedEpsilon), phase1Reached = phase1.Count(r => r.ReachedEpsilon);
        double Median(IEnumerable<double> v) { var a = v.Order().ToArray(); return 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2]); }
        Assert.True(fullReached >= 9, $"full algorithm reached ε on {fullReached}/10 seeds");
        Assert.True(phase1Reached <= 6, $"Phase 1 alone reached ε on {phase1Reached}/10 seeds");
        Assert.True(Median(phase1.Select(r => r.Suboptimality)) > 0.008, "Phase 1 alone: median suboptimality should exceed ε");
        Assert.True(Median(full.Select(r => r.Suboptimality)) < 0.004, "full algorithm: median suboptimality should be well below ε");
        // Exploration costs data: 2 reward queries per round, on top of the same spanner.
        Assert.All(full.Zip(phase1), p => Assert.Equal(p.Second.TData + 2 * (long)p.First.Diagnostics["exploration_rounds"], p.First.TData));
    }
}
