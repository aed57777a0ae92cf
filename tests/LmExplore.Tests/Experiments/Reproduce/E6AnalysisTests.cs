using LmExplore.Experiments.Reproduce;

namespace LmExplore.Tests.Experiments.Reproduce;

public class E6AnalysisTests
{
    /// <summary>With the fake laws (best-of-N 1 − 0.96^N, spanner min(0.97, T_data/300)), pass rate 0.9 needs N = 64 on the grid
    /// (960 calls) and a spanner budget of 283 (the first grid point ≥ 270): the finding must measure 283/960.</summary>
    [Fact]
    public void Analysis_MeasuresVerifierCallsToTheTarget_OnTheGrid()
    {
        using var dir = new TempDirectory("e6");
        var outcome = Reproducer.Run(new ReproduceOptions(dir.Path, Quick: true, Parallelism: 1, Only: ["E6"]), Fakes.Run);
        var findings = outcome.Experiments.Single().Report.Findings;
        var spanner = findings.Single(f => f.Name.StartsWith("spanner: verifier calls to pass rate 0.900", StringComparison.Ordinal));
        Assert.Equal(283.0 / 960, spanner.Value, 9);
        Assert.True(spanner.Pass);
        var passive = findings.Single(f => f.Name.StartsWith("passive: verifier calls to pass rate 0.900", StringComparison.Ordinal));
        Assert.Equal(200.0 / 960, passive.Value, 9); // passive grid 25, 50, 100, 200, 400: first ≥ 135
        Assert.True(File.Exists(Path.Combine(dir.Path, "E6", "e6-data.svg")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "E6", "e6-summary.csv")));
    }
}
