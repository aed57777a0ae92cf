using LmExplore.Experiments;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Tests.Experiments.Sweeps;

/// <summary>Budget scans in sweeps (<c>"scan"</c>): the levels run in order, the scan stops at the first level where
/// ⌈(1 − scanDelta)·seeds⌉ runs reach ε, and resuming, sharding, parallelism and merging see the same runs.</summary>
public class ScanSweepTests
{
    // The fake spanner needs ≈ 40·C_cov·jitter (jitter ∈ [0.8, 1.2]) calls: at C_cov = 10 the budgets 256 and 362
    // are not enough for every seed, 724 is; at C_cov = 100 none below 5 793 is.
    private static string Config(int seeds = 5, string extra = "") => $$"""
        {
          "format": "lmexplore.sweep/v1", "name": "scan", "sweepSeed": 3, {{extra}}
          "instance": "needle", "grid": { "ccov": [10, 100] },
          "algorithms": [
            { "name": "spanner", "vars": { "b": [256, 362, 512, 724, 1024, 1448, 2048, 2896, 4096, 5793] }, "scan": "b",
              "budgetComp": { "times": 1, "of": ["b"] } },
            { "name": "passive", "budgetData": 100000 }
          ],
          "seeds": {{seeds}}
        }
        """;

    private static SweepPlan Plan(int seeds = 5, string extra = "") => SweepPlan.Create(SweepConfig.Parse(Config(seeds, extra)));

    private static List<SweepRecord> Read(string dir, Shard? shard = null) =>
        ResultLines.Read(Path.Combine(dir, SweepEngine.ResultsFileName(shard)), false, out _).ToList();

    [Fact]
    public void Scan_StopsAtTheFirstBudgetWhereTheRequiredSeedsReachEpsilon_AndSkipsTheRest()
    {
        var plan = Plan();
        var dir = Fakes.TempDir();
        var outcome = SweepEngine.Run(plan, new SweepOptions(dir, Parallelism: 2), Fakes.Run);
        Assert.False(outcome.Cancelled);
        Assert.Equal(0, outcome.Missing);
        Assert.True(outcome.Skipped > 0);
        var records = Read(dir);
        Assert.Equal(plan.Runs.Count - outcome.Skipped, records.Count);
        foreach (var scan in records.Where(r => r.Settings["algorithm"] == "spanner").GroupBy(r => r.Settings["instance.ccov"]))
        {
            var levels = scan.GroupBy(r => long.Parse(r.Settings["budget.comp"])).OrderBy(g => g.Key).ToList();
            // Every level that ran ran all seeds; all but the last failed the rule; the last met it (or is the grid's end).
            Assert.All(levels, l => Assert.Equal(5, l.Count()));
            for (int i = 0; i < levels.Count - 1; i++) Assert.True(levels[i].Count(r => r.Result.ReachedEpsilon) < 5);
            bool lastMet = levels[^1].Count(r => r.Result.ReachedEpsilon) >= 5;
            Assert.True(lastMet || levels[^1].Key == 5793);
            // The unscanned baseline of the same rule, from the full grid: the first budget at which every seed succeeds.
            long expected = plan.Runs.Where(r => r.Settings["algorithm"] == "spanner" && r.Settings["instance.ccov"] == scan.Key)
                .GroupBy(r => r.Request.BudgetComp!.Value).OrderBy(g => g.Key)
                .FirstOrDefault(g => g.All(r => Fakes.Run(r.Request, default).ReachedEpsilon))?.Key ?? 5793;
            Assert.Equal(expected, levels[^1].Key);
        }
        // The unscanned entry ran in full.
        Assert.Equal(plan.Runs.Count(r => r.ScanGroup is null), records.Count(r => r.Settings["algorithm"] == "passive"));
    }

    [Fact]
    public void Scan_SameRunsWhateverTheParallelism_Shards_OrAResume()
    {
        var plan = Plan();
        var a = Fakes.TempDir();
        SweepEngine.Run(plan, new SweepOptions(a, Parallelism: 1), Fakes.Run);
        var reference = Fakes.Canonical(Read(a));

        var b = Fakes.TempDir();
        SweepEngine.Run(plan, new SweepOptions(b, Parallelism: 2), Fakes.Run);
        Assert.Equal(reference, Fakes.Canonical(Read(b)));

        var dirs = new List<string>();
        for (int i = 1; i <= 3; i++)
        {
            var dir = Fakes.TempDir();
            SweepEngine.Run(plan, new SweepOptions(dir, new Shard(i, 3), Parallelism: 2), Fakes.Run);
            dirs.Add(dir);
        }
        var merged = SweepMerge.Merge(dirs);
        Assert.Empty(merged.MissingKeys);
        Assert.Equal(merged.Records.Count, merged.Expected);
        Assert.Equal(reference, Fakes.Canonical(merged.Records));

        // Stop after 7 runs, then resume: the same runs in the end.
        var c = Fakes.TempDir();
        using (var cts = new CancellationTokenSource())
        {
            int n = 0;
            var first = SweepEngine.Run(plan, new SweepOptions(c, Parallelism: 1), (r, ct) =>
            {
                if (Interlocked.Increment(ref n) > 7) cts.Cancel();
                ct.ThrowIfCancellationRequested();
                return Fakes.Run(r, ct);
            }, cancellationToken: cts.Token);
            Assert.True(first.Cancelled);
        }
        var resumed = SweepEngine.Run(plan, new SweepOptions(c, Resume: true, Parallelism: 2), Fakes.Run);
        Assert.False(resumed.Cancelled);
        Assert.Equal(reference, Fakes.Canonical(Read(c)));
    }

    [Fact]
    public void Merge_OfAnUnfinishedScan_ReportsItsNextLevelMissing_NotTheSkippedOnes()
    {
        var plan = Plan();
        var dir = Fakes.TempDir();
        using (var cts = new CancellationTokenSource())
        {
            int n = 0;
            SweepEngine.Run(plan, new SweepOptions(dir, Parallelism: 1), (r, ct) =>
            {
                if (Interlocked.Increment(ref n) > 3) cts.Cancel();
                ct.ThrowIfCancellationRequested();
                return Fakes.Run(r, ct);
            }, cancellationToken: cts.Token);
        }
        var merged = SweepMerge.Merge([dir]);
        Assert.NotEmpty(merged.MissingKeys);
        Assert.Equal(plan.Runs.Count, merged.Expected);   // nothing stopped yet: every run may still be needed
    }

    [Fact]
    public void ScanDelta_ChangesTheRule_AndThePlanHash()
    {
        var strict = Plan();
        var loose = Plan(extra: "\"scanDelta\": 0.5,");
        Assert.NotEqual(strict.Hash, loose.Hash);
        Assert.Equal(5, strict.Config.ScanRequired);
        Assert.Equal(3, loose.Config.ScanRequired);
        var dir = Fakes.TempDir();
        var outcome = SweepEngine.Run(loose, new SweepOptions(dir, Parallelism: 2), Fakes.Run);
        Assert.Equal(0, outcome.Missing);
    }

    [Theory]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":[{"name":"spanner","scan":"b"}]}""", "$.algorithms[0].scan")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":[{"name":"spanner","vars":{"b":["x"]},"scan":"b"}]}""", "$.algorithms[0].vars.b")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":[{"name":"spanner","vars":{"b":[1]},"scan":3}]}""", "$.algorithms[0].scan")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"scanDelta":1}""", "$.scanDelta")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"scanDelta":"0.1"}""", "$.scanDelta")]
    public void BadScan_IsInputException_NamingThePath(string json, string expected)
    {
        var e = Assert.Throws<InputException>(() => SweepPlan.Create(SweepConfig.Parse(json)));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
