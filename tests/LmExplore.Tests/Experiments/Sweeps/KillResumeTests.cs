using System.Diagnostics;
using LmExplore.Experiments;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Tests.Experiments.Sweeps;

/// <summary>The crash-safety claim end to end: the real CLI, the real runner, a real SIGKILL.</summary>
public class KillResumeTests
{
    // Small needle instances, so each run takes a few tens of milliseconds.
    private const string Config = """
        {
          "format": "lmexplore.sweep/v1", "name": "kill-test", "sweepSeed": 11,
          "instance": "needle",
          "instanceParams": { "R": 1.5, "beta": 0.1, "d": 4, "prompts": 4, "responses": 300, "noise": "gaussian", "sigma": 0.1 },
          "grid": { "ccov": [30, 100] },
          "algorithms": [
            { "name": "spanner", "params": { "epsilon": 0.02 }, "budgetComp": { "times": 2000, "of": "ccov" } },
            { "name": "passive", "budgetData": { "times": 40, "of": "ccov" } }
          ],
          "seeds": 6
        }
        """;

    [Fact]
    public void SweepKilledWithSigkill_ThenResumed_EqualsUninterruptedRun()
    {
        var root = Fakes.TempDir();
        var configPath = Path.Combine(root, "sweep.json");
        File.WriteAllText(configPath, Config);
        var plan = SweepPlan.Create(SweepConfig.Parse(Config));
        var killedDir = Path.Combine(root, "killed");
        var results = Path.Combine(killedDir, "results.jsonl");

        string diagnostics = "";
        // Start the sweep in a child process and SIGKILL it once a few runs are on disk.
        using (var child = StartCli($"sweep --config \"{configPath}\" --out \"{killedDir}\" --parallel 2"))
        {
            var clock = Stopwatch.StartNew();
            while (CountLines(results) < 2 && !child.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(5);
            int atKill = CountLines(results);
            child.Kill(entireProcessTree: true); // SIGKILL on Unix: no handler runs, no flush, nothing cleaned up
            child.WaitForExit();
            diagnostics = $"lines when killed: {atKill}, after {clock.ElapsedMilliseconds} ms, exit code {child.ExitCode}";
        }
        int survived = CountLines(results);
        Assert.True(survived < plan.Runs.Count, diagnostics + $", lines after kill: {survived}");
        Assert.InRange(survived, 2, plan.Runs.Count - 1);

        using (var resume = StartCli($"sweep --config \"{configPath}\" --out \"{killedDir}\" --parallel 2 --resume"))
        {
            Assert.True(resume.WaitForExit(120_000));
            Assert.True(resume.ExitCode == 0, resume.StandardError.ReadToEnd());
        }

        // The uninterrupted reference, in process with the same runner.
        var reference = SweepEngine.Run(plan, new SweepOptions(Path.Combine(root, "reference"), Parallelism: 2), (r, ct) => Runner.Run(r, null, ct));
        var expected = ResultLines.Read(reference.ResultsPath, false, out _);
        var actual = ResultLines.Read(results, false, out bool torn);
        Assert.False(torn);
        Assert.Equal(plan.Runs.Count, actual.Count);
        Assert.Equal(actual.Count, actual.Select(r => r.Key).Distinct().Count());
        Assert.Equal(Fakes.Canonical(expected), Fakes.Canonical(actual));
    }

    private static int CountLines(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            int n = 0, b;
            while ((b = fs.ReadByte()) >= 0) if (b == '\n') n++;
            return n;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static Process StartCli(string args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "LmExplore.Cli.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet, $"\"{cli}\" {args}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["CI"] = "true";
        return Process.Start(psi)!;
    }
}
