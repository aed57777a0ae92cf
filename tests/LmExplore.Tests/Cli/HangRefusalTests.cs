using System.Diagnostics;

namespace LmExplore.Tests.Cli;

/// <summary>
/// Configurations that used to run for minutes or hours printing nothing are refused before any oracle call, with
/// exit 2 and one line naming the cause and the estimate (docs/ALGORITHMS.md, "Budgets").
/// </summary>
public class HangRefusalTests
{
    [Theory]
    [InlineData("passive: 1E+9 pairs", "run", "--instance", "needle", "--algo", "passive", "--algo-param", "epsilon=1e-300", "--seed", "1")]
    [InlineData("T_exp = 1000000000", "run", "--instance", "needle", "--algo", "spanner", "--algo-param", "epsilon=1e-300", "--seed", "1")]
    [InlineData("O(d²) = 1E+6", "run", "--instance", "linear", "--param", "d=1000", "--algo", "spanner", "--seed", "1", "--budget-comp", "1000000")]
    [InlineData("rejection-coverage", "run", "--instance", "needle", "--algo", "spanner", "--algo-param", "rejection-coverage=1e15", "--seed", "1")]
    public void PlansThatCannotFinish_AreRefusedAtOnce(string expected, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        var outcome = CliHarness.Invoke(args);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains(expected, outcome.Stderr);
        Assert.Single(outcome.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("", outcome.Stdout);
    }
}
