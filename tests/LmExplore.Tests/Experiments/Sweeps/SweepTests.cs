using System.Text;
using LmExplore.Experiments;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Tests.Experiments.Sweeps;

public class SweepConfigTests
{
    [Fact]
    public void Expands_CartesianProduct_WithBudgetExpressions()
    {
        var plan = Fakes.Plan(seeds: 4);
        // 2 ccov × (spanner + passive × 3 data factors) × 4 seeds
        Assert.Equal(2 * (1 + 3) * 4, plan.Runs.Count);
        var spanner = plan.Runs.First(r => r.Request.Algorithm == "spanner" && r.Request.InstanceParams["ccov"] == "100");
        Assert.Equal(200_000, spanner.Request.BudgetComp);
        Assert.Null(spanner.Request.BudgetData);
        var passive = plan.Runs.First(r => r.Request.Algorithm == "passive" && r.Request.InstanceParams["ccov"] == "10" && r.Settings["var.f"] == "80");
        Assert.Equal(800, passive.Request.BudgetData);
        Assert.Equal("1.5", passive.Request.InstanceParams["R"]);
        Assert.Equal(plan.Runs.Select(r => r.Key).Order(StringComparer.Ordinal), plan.Runs.Select(r => r.Key));
        Assert.Equal(plan.Runs.Count, plan.Runs.Select(r => r.Request.Seed).Distinct().Count());
    }

    [Fact]
    public void RunSeed_DependsOnlyOnSweepSeedAndKey()
    {
        var a = Fakes.Plan(seeds: 2);
        // Same runs listed in another order (algorithms swapped, grid values reversed) → same keys, same seeds, same hash.
        var reordered = SweepPlan.Create(SweepConfig.Parse(Fakes.Config(seeds: 2)
            .Replace("[10, 100]", "[100, 10]").Replace("[5, 20, 80]", "[80, 5, 20]")));
        Assert.Equal(a.Hash, reordered.Hash);
        Assert.Equal(a.Runs.Select(r => (r.Key, r.Request.Seed)), reordered.Runs.Select(r => (r.Key, r.Request.Seed)));
        var other = Fakes.Plan(seeds: 2, sweepSeed: 8);
        Assert.NotEqual(a.Hash, other.Hash);
        Assert.NotEqual(a.Runs[0].Request.Seed, other.Runs[0].Request.Seed);
    }

    [Theory]
    [InlineData("""{"format":"lmexplore.sweep/v2","instance":"needle","algorithms":["spanner"]}""", "$.format")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":[]}""", "$.algorithms")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"grdi":{}}""", "$.grdi")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"grid":{"ccov":[1e400]}}""", "$.grid.ccov[0]")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"grid":{"ccov":[]}}""", "$.grid.ccov")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":[{"name":"spanner","budgetComp":{"times":2,"of":"cc"}}],"grid":{"ccov":[10]}}""", "$.algorithms[0].budgetComp.of")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"budgetData":-3}""", "$.budgetData")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"seeds":"3"}""", "$.seeds")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner","spanner"]}""", "label")]
    [InlineData("""{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],""", "not valid JSON")]
    public void BadConfig_IsInputException_NamingThePath(string json, string expected)
    {
        var e = Assert.Throws<InputException>(() => SweepPlan.Create(SweepConfig.Parse(json)));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}

public class SweepEngineTests
{
    [Fact]
    public void Parallelism1And2_GiveIdenticalResults()
    {
        var plan = Fakes.Plan();
        var a = Run(plan, Fakes.TempDir(), parallelism: 1);
        var b = Run(plan, Fakes.TempDir(), parallelism: 2);
        Assert.Equal(plan.Runs.Count, a.Count);
        Assert.Equal(Fakes.Canonical(a), Fakes.Canonical(b));
    }

    [Fact]
    public void Parallelism2_RunsTwoAtATime_NeverMore()
    {
        // Runs that wait (not compute) show the engine's own concurrency, whatever else loads the machine.
        var plan = Fakes.Plan(seeds: 2);
        int inFlight = 0, peak = 0;
        var outcome = SweepEngine.Run(plan, new SweepOptions(Fakes.TempDir(), Parallelism: 2), (r, ct) =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref peak)) && Interlocked.CompareExchange(ref peak, now, seen) != seen) { }
            Thread.Sleep(20);
            Interlocked.Decrement(ref inFlight);
            return Fakes.Run(r, ct);
        });
        Assert.Equal(plan.Runs.Count, outcome.Completed);
        Assert.Equal(2, peak);
    }

    [Fact]
    public void Shards_MergedEqualUnsharded_ResultForResult()
    {
        var plan = Fakes.Plan();
        var full = Run(plan, Fakes.TempDir(), parallelism: 2);
        var dirs = new List<string>();
        var sizes = new List<int>();
        for (int i = 1; i <= 3; i++)
        {
            var dir = Fakes.TempDir();
            var outcome = SweepEngine.Run(plan, new SweepOptions(dir, new Shard(i, 3), Parallelism: 2), Fakes.Run);
            Assert.False(outcome.Cancelled);
            Assert.True(File.Exists(Path.Combine(dir, $"results.shard-{i}-of-3.jsonl")));
            sizes.Add(outcome.Total);
            dirs.Add(dir);
        }
        Assert.Equal(plan.Runs.Count, sizes.Sum());
        Assert.True(sizes.Max() - sizes.Min() <= 1);
        var merged = SweepMerge.Merge(dirs);
        Assert.Empty(merged.MissingKeys);
        Assert.Equal(0, merged.Duplicates);
        Assert.Equal(Fakes.Canonical(full), Fakes.Canonical(merged.Records));
        // The merged file round-trips.
        var outFile = Path.Combine(Fakes.TempDir(), "merged.jsonl");
        SweepMerge.Write(outFile, merged.Records);
        Assert.Equal(Fakes.Canonical(full), Fakes.Canonical(ResultLines.Read(outFile, false, out _)));
    }

    [Fact]
    public void Merge_RefusesDifferentSweeps_ReportsMissingAndDuplicates()
    {
        var plan = Fakes.Plan();
        var d1 = Fakes.TempDir();
        var d2 = Fakes.TempDir();
        SweepEngine.Run(plan, new SweepOptions(d1, new Shard(1, 2)), Fakes.Run);
        SweepEngine.Run(Fakes.Plan(sweepSeed: 99), new SweepOptions(d2, new Shard(2, 2)), Fakes.Run);
        var e = Assert.Throws<InputException>(() => SweepMerge.Merge([d1, d2]));
        Assert.Contains("different sweep", e.Message);

        var partial = SweepMerge.Merge([d1]);
        Assert.Equal(plan.ShardRuns(new Shard(2, 2)).Count(), partial.MissingKeys.Count);
        var dup = SweepMerge.Merge([d1, d1]);
        Assert.Equal(partial.Records.Count, dup.Duplicates);
        Assert.Equal(partial.Records.Count, dup.Records.Count);
    }

    [Fact]
    public void Refuses_ResultsOfAnotherSweep_AndAppendingWithoutResume()
    {
        var dir = Fakes.TempDir();
        SweepEngine.Run(Fakes.Plan(), new SweepOptions(dir), Fakes.Run);
        var other = Assert.Throws<InputException>(() => SweepEngine.Run(Fakes.Plan(sweepSeed: 1234), new SweepOptions(dir, Resume: true), Fakes.Run));
        Assert.Contains("different sweep", other.Message);
        var again = Assert.Throws<InputException>(() => SweepEngine.Run(Fakes.Plan(), new SweepOptions(dir), Fakes.Run));
        Assert.Contains("--resume", again.Message);
        // Resuming a finished sweep runs nothing.
        var outcome = SweepEngine.Run(Fakes.Plan(), new SweepOptions(dir, Resume: true), Fakes.Run);
        Assert.Equal(outcome.Total, outcome.AlreadyDone);
        Assert.Equal(0, outcome.Completed);
    }

    [Fact]
    public void CancelledMidway_WithTornLastLine_ResumesToTheSameResults()
    {
        var plan = Fakes.Plan();
        var reference = Run(plan, Fakes.TempDir(), parallelism: 2);

        var dir = Fakes.TempDir();
        using var cts = new CancellationTokenSource();
        int calls = 0;
        var first = SweepEngine.Run(plan, new SweepOptions(dir, Parallelism: 2), (r, ct) =>
        {
            if (Interlocked.Increment(ref calls) == 9) cts.Cancel();
            return Fakes.Run(r, ct);
        }, null, cts.Token);
        Assert.True(first.Cancelled);
        Assert.InRange(first.Completed, 1, plan.Runs.Count - 1);
        // A kill in the middle of a write leaves half a line.
        var path = first.ResultsPath;
        var tail = File.ReadAllLines(path)[0];
        File.AppendAllText(path, tail[..(tail.Length / 2)], new UTF8Encoding(false));

        var second = SweepEngine.Run(plan, new SweepOptions(dir, Resume: true, Parallelism: 2), Fakes.Run);
        Assert.True(second.TornLineRepaired);
        Assert.False(second.Cancelled);
        Assert.Equal(first.Completed, second.AlreadyDone);
        var records = ResultLines.Read(path, false, out bool torn);
        Assert.False(torn);
        Assert.Equal(records.Count, records.Select(r => r.Key).Distinct().Count()); // none duplicated
        Assert.Equal(Fakes.Canonical(reference), Fakes.Canonical(records));         // none lost
    }

    [Fact]
    public void BadInputFromARun_AbortsTheSweep_KeepingFinishedRuns()
    {
        var dir = Fakes.TempDir();
        var plan = Fakes.Plan();
        var e = Assert.Throws<InputException>(() => SweepEngine.Run(plan, new SweepOptions(dir), (r, ct) =>
            r.Algorithm == "passive" ? throw new InputException("passive: unknown parameter 'x'") : Fakes.Run(r, ct)));
        Assert.Contains("unknown parameter", e.Message);
    }

    [Fact]
    public void RunThatCrashes_IsRecordedAsError_AndTheOthersComplete()
    {
        var dir = Fakes.TempDir();
        var plan = Fakes.Plan();
        var failed = new List<string>();
        var outcome = SweepEngine.Run(plan, new SweepOptions(dir, Parallelism: 2), (r, ct) =>
            r.Algorithm == "spanner" && r.InstanceParams["ccov"] == "10" ? throw new InvalidOperationException("boom") : Fakes.Run(r, ct),
            onRunError: (key, e) => { lock (failed) failed.Add(key); });
        int expectedErrors = plan.Runs.Count(r => r.Request.Algorithm == "spanner" && r.Request.InstanceParams["ccov"] == "10");
        Assert.Equal(expectedErrors, outcome.Errors);
        Assert.Equal(expectedErrors, failed.Count);
        var records = ResultLines.Read(outcome.ResultsPath, false, out _);
        Assert.Equal(plan.Runs.Count, records.Count);
        Assert.Equal(expectedErrors, records.Count(r => r.Result.Status == "error"));
        Assert.True(double.IsNaN(records.First(r => r.Result.Status == "error").Result.Suboptimality));
    }

    [Fact]
    public void CorruptLineBeforeTheLast_IsReported()
    {
        var dir = Fakes.TempDir();
        var outcome = SweepEngine.Run(Fakes.Plan(), new SweepOptions(dir), Fakes.Run);
        var lines = File.ReadAllLines(outcome.ResultsPath);
        lines[1] = "{not json";
        File.WriteAllLines(outcome.ResultsPath, lines);
        var e = Assert.Throws<InputException>(() => SweepEngine.Run(Fakes.Plan(), new SweepOptions(dir, Resume: true), Fakes.Run));
        Assert.Contains("line 2", e.Message);
    }

    private static List<SweepRecord> Run(SweepPlan plan, string dir, int parallelism)
    {
        var outcome = SweepEngine.Run(plan, new SweepOptions(dir, Parallelism: parallelism), Fakes.Run);
        Assert.False(outcome.Cancelled);
        return ResultLines.Read(outcome.ResultsPath, false, out _);
    }
}

public class ExperimentCommandTests
{
    private static int Cli(params string[] args)
    {
        var root = new System.CommandLine.RootCommand("test");
        foreach (var c in LmExplore.Cli.ExperimentCommands.Create()) root.Add(c);
        return LmExplore.Cli.CliSupport.Invoke(root, args);
    }

    [Fact]
    public void BadInput_ExitsWith2()
    {
        var dir = Fakes.TempDir();
        var bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, """{"format":"lmexplore.sweep/v1","instance":"needle","algorithms":["spanner"],"seeds":0}""");
        Assert.Equal(2, Cli("sweep", "--config", bad, "--out", Path.Combine(dir, "o")));
        Assert.Equal(2, Cli("sweep", "--config", Path.Combine(dir, "missing.json"), "--out", Path.Combine(dir, "o")));
        Assert.Equal(2, Cli("sweep", "--config", bad, "--out", Path.Combine(dir, "o"), "--shard", "4/3"));
        Assert.Equal(2, Cli("merge", "--out", Path.Combine(dir, "m.jsonl"), Path.Combine(dir, "nothing-here")));
        Assert.Equal(2, Cli("reproduce", "--quick", "--only", "E9", "--out", Path.Combine(dir, "r")));
    }

    [Fact]
    public void Merge_ExitCodes_MissingRunsAndDifferentSweeps()
    {
        var plan = Fakes.Plan();
        var d1 = Fakes.TempDir();
        var d2 = Fakes.TempDir();
        var d3 = Fakes.TempDir();
        SweepEngine.Run(plan, new SweepOptions(d1, new Shard(1, 2)), Fakes.Run);
        SweepEngine.Run(plan, new SweepOptions(d2, new Shard(2, 2)), Fakes.Run);
        SweepEngine.Run(Fakes.Plan(sweepSeed: 3), new SweepOptions(d3), Fakes.Run);
        var outFile = Path.Combine(Fakes.TempDir(), "merged.jsonl");
        Assert.Equal(2, Cli("merge", "--out", outFile, d1));
        Assert.False(File.Exists(outFile));
        Assert.Equal(0, Cli("merge", "--out", outFile, "--allow-missing", d1));
        Assert.Equal(2, Cli("merge", "--out", outFile, d1, d3));
        Assert.Equal(0, Cli("merge", "--out", outFile, d1, d2));
        Assert.Equal(plan.Runs.Count, File.ReadAllLines(outFile).Length);
    }
}
