using LmExplore.Runs;
using LmExplore.Algorithms;
using LmExplore.Experiments;

namespace LmExplore.Tests.Cli;

/// <summary>Misuse the CLI invites: typos in commands and options, budgets in scientific notation, help that oversells.</summary>
public class FrictionTests
{
    private static readonly string[] Run = ["run", "--instance", "needle", "--algo", "passive", "--seed", "1"];

    [Theory]
    [InlineData("runn", "run")]
    [InlineData("swep", "sweep")]
    [InlineData("reprodcue", "reproduce")]
    [InlineData("merg", "merge")]
    public void MistypedCommand_NamesItAndTheNearestCommand(string typed, string meant)
    {
        var r = CliHarness.Invoke(typed, "--out", "x");
        r.AssertBadInput($"lmexplore {typed}");
        Assert.StartsWith($"error: unknown command '{typed}' (did you mean '{meant}'?)", r.ErrorLines[0]);
        Assert.DoesNotContain("Required command", r.Stderr);
    }

    [Fact]
    public void MistypedSubcommand_AndUnrelatedWord_AndMissingCommand()
    {
        var sub = CliHarness.Invoke("instance", "inspct", "needle");
        sub.AssertBadInput("instance inspct");
        Assert.StartsWith("error: unknown command 'inspct' (did you mean 'inspect'?)", sub.ErrorLines[0]);

        var unrelated = CliHarness.Invoke("frobnicate");
        unrelated.AssertBadInput("frobnicate");
        Assert.StartsWith("error: unknown command 'frobnicate'; lmexplore commands: run, instance, ", unrelated.ErrorLines[0]);
        foreach (var command in new[] { "sweep", "merge", "reproduce" }) Assert.Contains(command, unrelated.ErrorLines[0]);
        Assert.DoesNotContain("did you mean", unrelated.Stderr);

        var none = CliHarness.Invoke();
        none.AssertBadInput("no command");
        Assert.Contains("lmexplore needs a command: run, instance", none.Stderr);
    }

    [Fact]
    public void MistypedOption_NamesTheNearestOption()
    {
        var r = CliHarness.Invoke(CliHarness.Fake(), [.. Run, "--budjet-comp", "5"]);
        r.AssertBadInput("--budjet-comp");
        Assert.StartsWith("error: unknown option '--budjet-comp' for 'lmexplore run' (did you mean '--budget-comp'?)", r.ErrorLines[0]);
    }

    [Theory]
    [InlineData("--budget-comp", "1e6", 1_000_000L)]
    [InlineData("--budget-comp", "1E+3", 1_000L)]
    [InlineData("--budget-comp", "250000", 250_000L)]
    [InlineData("--budget-data", "2.5e4", 25_000L)]
    [InlineData("--budget-data", "2.50e1", 25L)]
    [InlineData("--budget-data", "0e9", 0L)]
    [InlineData("--budget-tokens", "9.223372036854775807e18", long.MaxValue)]
    public void Budget_InScientificNotation_IsAcceptedWhenItIsAnInteger(string option, string text, long expected)
    {
        RunRequest? seen = null;
        var r = CliHarness.Invoke(CliHarness.Fake(inspect: q => seen = q), [.. Run, option, text]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        long? actual = option switch { "--budget-comp" => seen!.BudgetComp, "--budget-data" => seen!.BudgetData, _ => seen!.BudgetTokens };
        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("1.5", "must be a non-negative integer")]
    [InlineData("2.5e0", "must be a non-negative integer")]
    [InlineData("1e-3", "must be a non-negative integer")]
    [InlineData("-5", "must be a non-negative integer")]
    [InlineData("1e", "must be a non-negative integer")]
    [InlineData("abc", "must be a non-negative integer")]
    [InlineData("1e30", "is too large")]
    [InlineData("9223372036854775808", "is too large")]
    public void Budget_ThatIsNotANonNegativeInteger_IsRefusedNamingTheOption(string text, string message)
    {
        var r = CliHarness.Invoke(CliHarness.Fake(), [.. Run, "--budget-comp", text]);
        r.AssertBadInput($"--budget-comp {text}");
        Assert.Contains($"--budget-comp {message}", r.Stderr);
        Assert.Contains($"got '{text}'", r.Stderr);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("instance export")]
    [InlineData("instance inspect")]
    public void Help_ListsEveryInstanceFamily_AndOnlyImplementedAlgorithms(string command)
    {
        var r = CliHarness.Invoke([.. command.Split(' '), "--help"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("linear, needle, chain", r.Stdout);
        foreach (var reserved in Array.Empty<string>()) Assert.DoesNotMatch($@"\b{reserved}\b", r.Stdout); // "xpo" is in "export"
        if (command == "run") Assert.Contains($"Algorithm: {string.Join(", ", AlgorithmRegistry.Names)}.", r.Stdout);
    }
}
