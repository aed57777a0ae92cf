using LmExplore.Runs;
using System.Diagnostics;
using LmExplore.Experiments;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Tests.Cli;

/// <summary>
/// No lost results under concurrent writers: every writer of a results file holds its <see cref="ResultsFileLock"/>
/// (a sweep for its whole life, <c>run --out</c> for one append). Real processes where only processes can show it.
/// </summary>
public class ConcurrentWriterTests
{
    private static readonly string[] SmallRun =
        ["run", "--instance", "needle", "--param", "ccov=10", "--param", "responses=50", "--algo", "passive", "--algo-param", "pairs=50"];

    /// <summary>Thousands of sub-millisecond runs: long enough (a few seconds) for two sweeps started together to overlap.</summary>
    private static string SweepConfig(int seeds) => $$"""
        { "format": "lmexplore.sweep/v1", "name": "lock-test", "instance": "needle",
          "instanceParams": { "ccov": 10, "responses": 50 },
          "algorithms": [ { "name": "passive", "params": { "pairs": 50 } } ], "seeds": {{seeds}} }
        """;

    [Fact]
    public void TwoSweepsStartedAtOnce_OnOneOutput_OneRefusesWithExit2_TheOthersFileIsWholeAndResumable()
    {
        using var dir = CliHarness.TempDir();
        var config = dir.Write("sweep.json", SweepConfig(4000));
        var outDir = dir.File("out");
        string[] args = ["sweep", "--config", config, "--out", outDir, "--parallel", "1"];

        using var a = CliHarness.Start(args);
        using var b = CliHarness.Start(args);
        var outcomes = new[] { CliHarness.Finish(a, TimeSpan.FromMinutes(3)), CliHarness.Finish(b, TimeSpan.FromMinutes(3)) };

        var winner = Assert.Single(outcomes, o => o.ExitCode == 0);
        var loser = Assert.Single(outcomes, o => o.ExitCode != 0);
        var results = Path.Combine(outDir, "results.jsonl");
        loser.AssertBadInput("the second sweep on one output");
        Assert.Contains($"{results} is being written by another lmexplore process (pid ", loser.Stderr);
        Assert.Contains("4000 runs (0 already done, 4000 run now)", winner.Stdout);

        var records = ResultLines.Read(results, repair: false, out bool torn);
        Assert.False(torn);
        Assert.Equal(4000, records.Count);
        Assert.Equal(4000, records.Select(r => r.Key).Distinct().Count());

        var resumed = CliHarness.Invoke([.. args, "--resume"]);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("4000 runs (4000 already done, 0 run now)", resumed.Stdout);
    }

    [Fact]
    public void SixteenConcurrentRunOut_ToOneFile_LandSixteenWholeLines()
    {
        using var dir = CliHarness.TempDir();
        var results = dir.File("same.jsonl");
        var processes = Enumerable.Range(1, 16)
            .Select(seed => CliHarness.Start([.. SmallRun, "--seed", seed.ToString(), "--out", results])).ToList();
        foreach (var p in processes)
        {
            var outcome = CliHarness.Finish(p, TimeSpan.FromMinutes(3));
            Assert.True(outcome.ExitCode == 0, outcome.Stderr);
            p.Dispose();
        }

        var lines = File.ReadAllText(results).Split('\n');
        Assert.Equal("", lines[^1]); // ends with a newline
        var parsed = lines[..^1].Select(RunResultJson.Parse).ToList();
        Assert.Equal(Enumerable.Range(1, 16).Select(s => (ulong)s), parsed.Select(r => r.Seed).Order());
    }

    [Fact]
    public async Task RunOut_WaitsForTheLock_AndAppendsOnlyOnceItIsReleased()
    {
        using var dir = CliHarness.TempDir();
        var results = dir.File("held.jsonl");
        var held = ResultsFileLock.Acquire(results, "test", TimeSpan.Zero);
        var run = Task.Run(() => CliHarness.Invoke(CliHarness.Fake(), [.. SmallRun, "--seed", "1", "--out", results]));

        await Task.Delay(500);
        Assert.False(run.IsCompleted, "run --out appended while another process held the file's lock");
        Assert.False(File.Exists(results) && new FileInfo(results).Length > 0);
        held.Dispose();

        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.ExitCode == 0, outcome.Stderr);
        Assert.Single(File.ReadAllLines(results));
    }

    [Fact]
    public async Task RunOut_LockedDuringTheRun_AppendWaitsForTheLock()
    {
        using var dir = CliHarness.TempDir();
        var results = dir.File("late.jsonl");
        var clock = new Stopwatch();
        // Another writer takes the lock while the run is running (after the pre-run check) and keeps it for 500 ms.
        var runner = CliHarness.Fake(inspect: _ =>
        {
            var held = ResultsFileLock.Acquire(results, "test", TimeSpan.Zero);
            clock.Start();
            Task.Delay(500).ContinueWith(_ => held.Dispose());
        });
        var outcome = await Task.Run(() => CliHarness.Invoke(runner, [.. SmallRun, "--seed", "1", "--out", results]));
        Assert.True(outcome.ExitCode == 0, outcome.Stderr);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(400), $"appended {clock.ElapsedMilliseconds} ms after the lock was taken");
        Assert.Single(File.ReadAllLines(results));
    }

    [Fact]
    public async Task MergeOut_WaitsForAnotherWriterOfItsOutput()
    {
        using var dir = CliHarness.TempDir();
        var sweepDir = dir.File("sweep");
        SweepEngine.Run(Support.Fakes.Plan(seeds: 1), new SweepOptions(sweepDir), Support.Fakes.Run);
        var merged = dir.File("merged.jsonl");
        var held = ResultsFileLock.Acquire(merged, "test", TimeSpan.Zero);
        var merge = Task.Run(() => CliHarness.Invoke("merge", "--out", merged, sweepDir));

        await Task.Delay(500);
        Assert.False(merge.IsCompleted, "merge --out replaced a file another process held");
        Assert.False(File.Exists(merged));
        held.Dispose();

        var outcome = await merge.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.ExitCode == 0, outcome.Stderr);
        Assert.Equal(Support.Fakes.Plan(seeds: 1).Runs.Count, File.ReadAllLines(merged).Length);
    }

    [Fact]
    public void Sweep_WhileItsResultsFileIsLocked_RefusesAtOnce_NamingFileAndPid_WritingNothing()
    {
        using var dir = CliHarness.TempDir();
        var config = dir.Write("sweep.json", SweepConfig(3));
        var outDir = dir.File("out");
        Directory.CreateDirectory(outDir);
        var results = Path.Combine(outDir, "results.jsonl");
        using var held = ResultsFileLock.Acquire(results, "test", TimeSpan.Zero);

        var clock = Stopwatch.StartNew();
        var r = CliHarness.Invoke(["sweep", "--config", config, "--out", outDir]);
        r.AssertBadInput("a sweep on a locked results file");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}: a sweep must not wait for the lock");
        Assert.Contains($"{results} is being written by another lmexplore process (pid {Environment.ProcessId}, test)", r.Stderr);
        Assert.False(File.Exists(results));
        Assert.False(File.Exists(Path.Combine(outDir, SweepManifest.FileName)));
    }
}
