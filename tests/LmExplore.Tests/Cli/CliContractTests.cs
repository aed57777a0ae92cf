using LmExplore.Runs;
using System.Text.Json;
using LmExplore.Cli;
using LmExplore.Experiments;

namespace LmExplore.Tests.Cli;

/// <summary>Parsing, exit codes, output shapes and --out, with a fake runner (the CLI alone).</summary>
public class CliContractTests
{
    private static readonly string[] RunArgs = ["run", "--instance", "needle", "--algo", "spanner", "--seed", "7"];

    [Fact]
    public void Help_ExitsZero_AndPrintsUsage()
    {
        foreach (var args in new[] { new[] { "--help" }, ["run", "--help"], ["instance", "inspect", "--help"], ["instance", "export", "-h"] })
        {
            var r = CliHarness.Invoke(args);
            Assert.True(r.ExitCode == 0, $"{string.Join(' ', args)}: exit {r.ExitCode}, stderr {r.Stderr}");
            Assert.Contains("Usage:", r.Stdout);
            Assert.Contains("lmexplore", r.Stdout);
            Assert.Equal("", r.Stderr);
        }
    }

    [Theory]
    [InlineData("missing required option", new[] { "run", "--instance", "needle", "--seed", "1" })]
    [InlineData("unknown option", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--bogus" })]
    [InlineData("unknown command", new[] { "frobnicate" })]
    [InlineData("no command", new string[0])]
    [InlineData("negative seed", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "-5" })]
    [InlineData("non-numeric seed", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "abc" })]
    [InlineData("seed beyond 2^64", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "18446744073709551616" })]
    [InlineData("fractional seed", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "1.5" })]
    [InlineData("seed without value", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed" })]
    [InlineData("bad budget", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--budget-comp", "lots" })]
    [InlineData("negative budget", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--budget-data", "-1" })]
    [InlineData("param without =", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--param", "prompts" })]
    [InlineData("param set twice", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--param", "d=2", "--param", "d=3" })]
    [InlineData("algo-param without value", new[] { "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--algo-param", "epsilon=" })]
    [InlineData("inspect without instance", new[] { "instance", "inspect" })]
    [InlineData("inspect bad seed", new[] { "instance", "inspect", "needle", "--seed", "-1" })]
    [InlineData("export without --out", new[] { "instance", "export", "--instance", "needle", "--seed", "1" })]
    [InlineData("export without --seed", new[] { "instance", "export", "--instance", "needle", "--out", "x.json" })]
    public void BadCommandLine_OneLineExitTwo(string because, string[] args)
    {
        bool ran = false;
        CliHarness.Invoke(CliHarness.Fake(inspect: _ => ran = true), args).AssertBadInput(because);
        Assert.False(ran, $"{because}: the runner must not start");
    }

    [Fact]
    public void Seed_FullUnsignedRange_ReachesTheRunner()
    {
        ulong seen = 0;
        var args = RunArgs.ToArray();
        args[^1] = "18446744073709551615";
        var r = CliHarness.Invoke(CliHarness.Fake(inspect: q => seen = q.Seed), [.. args, "--json"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(ulong.MaxValue, seen);
        Assert.Equal(ulong.MaxValue, r.SingleJsonObject().GetProperty("seed").GetUInt64());
    }

    [Fact]
    public void Run_PassesParametersBudgetsAndNormalize()
    {
        RunRequest? seen = null;
        var r = CliHarness.Invoke(CliHarness.Fake(inspect: q => seen = q),
            [.. RunArgs, "--param", "prompts=3", "d=2", "--param", "ccov=10", "--algo-param", "epsilon=0.01",
             "--budget-comp", "1000", "--budget-data", "50", "--budget-tokens", "9", "--normalize"]);
        Assert.Equal(0, r.ExitCode);
        Assert.NotNull(seen);
        Assert.Equal(new Dictionary<string, string> { ["prompts"] = "3", ["d"] = "2", ["ccov"] = "10" }, seen!.InstanceParams);
        Assert.Equal("0.01", seen.AlgoParams["epsilon"]);
        Assert.Equal((1000L, 50L, 9L), (seen.BudgetComp!.Value, seen.BudgetData!.Value, seen.BudgetTokens!.Value));
        Assert.True(seen.Normalize);
        Assert.Equal(7UL, seen.Seed);
    }

    [Fact]
    public void RunJson_IsExactlyOneObjectWithTheSpecKeys()
    {
        var r = CliHarness.Invoke(CliHarness.Fake(), [.. RunArgs, "--json"]);
        Assert.Equal("", r.Stderr);
        CliAssert.HasExactlySpecKeys(r.SingleJsonObject());
    }

    [Fact]
    public void RunWithoutJson_PrintsReadableSummary()
    {
        var r = CliHarness.Invoke(CliHarness.Fake(), RunArgs);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("suboptimality", r.Stdout);
        Assert.Contains("T_comp", r.Stdout);
        foreach (var key in new[] { "suboptimality_ci", "suboptimality_target", "expected_reward_out", "epsilon", "reached_epsilon" })
            Assert.Contains(key, r.Stdout);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(r.Stdout));
    }

    [Theory]
    [InlineData("budget_exhausted", true, 3)]
    [InlineData("budget_exhausted", false, 0)]
    [InlineData("ok", true, 0)]
    [InlineData("error", false, 1)]
    public void ExitCode_FollowsStatusAndStrict(string status, bool strict, int expected)
    {
        string[] args = strict ? [.. RunArgs, "--json", "--strict"] : [.. RunArgs, "--json"];
        var r = CliHarness.Invoke(CliHarness.Fake(status), args);
        Assert.Equal(expected, r.ExitCode);
        Assert.Equal(status, JsonDocument.Parse(r.Stdout).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public void InputExceptionFromRunner_IsOneLineExitTwo()
    {
        RunFunc failing = (_, _, _) => throw new InputException("unknown algorithm 'nope'\n(known: spanner, passive)");
        CliHarness.Invoke(failing, [.. RunArgs, "--json"]).AssertBadInput("input exception");
    }

    [Fact]
    public void UnexpectedException_IsOneLineExitOne()
    {
        RunFunc failing = (_, _, _) => throw new InvalidOperationException("boom");
        var r = CliHarness.Invoke(failing, [.. RunArgs, "--json"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Stdout);
        Assert.Single(r.ErrorLines);
        Assert.Contains("boom", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void Cancellation_ExitsWithOneLine_AndWritesNoResult()
    {
        using var dir = CliHarness.TempDir();
        var outPath = dir.File("results.jsonl");
        using var cts = new CancellationTokenSource();
        RunFunc cancelled = (request, progress, token) =>
        {
            cts.Cancel(); // as if Ctrl-C arrived mid-run
            token.ThrowIfCancellationRequested();
            return CliHarness.Fake()(request, progress, token);
        };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var context = new LmExplore.Cli.CliContext { Out = stdout, Error = stderr, Cancellation = cts.Token, Run = cancelled };
        int code = LmExplore.Cli.CliApp.Invoke([.. RunArgs, "--json", "--out", outPath], context);
        Assert.Equal(130, code);
        Assert.Equal("", stdout.ToString());
        Assert.Single(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(outPath));
    }

    [Fact]
    public void Out_AppendsOneValidJsonLinePerRun_AndRepairsATornLastLine()
    {
        using var dir = CliHarness.TempDir();
        var outPath = dir.File("results.jsonl");
        for (ulong seed = 1; seed <= 2; seed++)
        {
            var r = CliHarness.Invoke(CliHarness.Fake(), "run", "--instance", "needle", "--algo", "spanner", "--seed", seed.ToString(), "--out", outPath);
            Assert.Equal(0, r.ExitCode);
        }
        File.AppendAllText(outPath, "{\"instance\":\"torn"); // a run killed mid-write by someone else
        Assert.Equal(0, CliHarness.Invoke(CliHarness.Fake(), [.. RunArgs, "--json", "--out", outPath]).ExitCode);

        var lines = File.ReadAllText(outPath).Split('\n');
        Assert.Equal("", lines[^1]); // ends with a newline
        Assert.Equal(5, lines.Length);
        Assert.Equal(1UL, RunResultJson.Parse(lines[0]).Seed);
        Assert.Equal(2UL, RunResultJson.Parse(lines[1]).Seed);
        Assert.StartsWith("{\"instance\":\"torn", lines[2]);
        Assert.Equal(7UL, RunResultJson.Parse(lines[3]).Seed);
    }

    [Fact]
    public void Out_IntoMissingDirectory_FailsBeforeRunning()
    {
        using var dir = CliHarness.TempDir();
        bool ran = false;
        CliHarness.Invoke(CliHarness.Fake(inspect: _ => ran = true), [.. RunArgs, "--out", dir.File("no/such/dir/r.jsonl")])
            .AssertBadInput("missing --out directory");
        Assert.False(ran);
        CliHarness.Invoke(CliHarness.Fake(), [.. RunArgs, "--out", dir.Path]).AssertBadInput("--out is a directory");
    }
}

internal static class CliAssert
{
    /// <summary>The run JSON contract of docs/CLI.md (plus the documented "diagnostics" object).</summary>
    public static readonly string[] SpecKeys =
    [
        "instance", "algorithm", "seed", "beta", "d", "status", "T_data", "T_comp", "T_tokens", "J_opt", "J_ref", "J_out",
        "suboptimality", "suboptimality_ci", "suboptimality_target", "expected_reward_out", "epsilon", "reached_epsilon", "evaluation",
        "output_sample_cost", "C_cov", "C_cond", "wall_seconds",
    ];

    public static void HasExactlySpecKeys(JsonElement o)
    {
        var keys = o.EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
        Assert.Equal([.. SpecKeys, "diagnostics"], keys);
        Assert.Contains(o.GetProperty("status").GetString(), new[] { "ok", "budget_exhausted", "error" });
        string evaluation = o.GetProperty("evaluation").GetString()!;
        Assert.Contains(evaluation, new[] { "exact", "monte_carlo" });
        // The interval is null exactly when the evaluation is exact, and [lo, hi] around the headline otherwise.
        var ci = o.GetProperty("suboptimality_ci");
        if (evaluation == "exact") Assert.Equal(JsonValueKind.Null, ci.ValueKind);
        else
        {
            Assert.Equal(2, ci.GetArrayLength());
            Assert.InRange(o.GetProperty("suboptimality").GetDouble(), ci[0].GetDouble(), ci[1].GetDouble());
        }
        Assert.True(o.GetProperty("reached_epsilon").ValueKind is JsonValueKind.True or JsonValueKind.False);
    }
}
