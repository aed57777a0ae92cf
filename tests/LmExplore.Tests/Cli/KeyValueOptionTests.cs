using LmExplore.Runs;
using System.Text.Json;
using System.Text.Json.Nodes;
using LmExplore.Experiments;

namespace LmExplore.Tests.Cli;

/// <summary>
/// <c>--param</c> and <c>--algo-param</c> through the CLI: each token is one pair split at its first '=', the value kept
/// verbatim; every value is read by the one binder, so <c>2e3</c> is the integer 2000 everywhere and a bad value is
/// one line, exit 2.
/// </summary>
public class KeyValueOptionTests
{
    private static readonly string[] SmallPassive =
        ["run", "--instance", "needle", "--param", "ccov=10", "--algo", "passive", "--seed", "1", "--json"];

    /// <summary>The result object without its wall time, for comparing two runs.</summary>
    private static string WithoutWallTime(CliOutcome r)
    {
        var o = JsonNode.Parse(JsonSerializer.Serialize(r.SingleJsonObject()))!.AsObject();
        o.Remove("wall_seconds");
        return o.ToJsonString();
    }

    [Fact]
    public void ScientificIntegers_AreAcceptedAndRunExactlyAsThePlainOnes()
    {
        var plain = CliHarness.Invoke([.. SmallPassive, "--param", "responses=50", "--algo-param", "pairs=200"]);
        var scientific = CliHarness.Invoke([.. SmallPassive, "--param", "responses=5e1", "--algo-param", "pairs=2e2"]);
        var point = CliHarness.Invoke([.. SmallPassive, "--param", "responses=0.5e2", "--algo-param", "pairs=2.0e2"]);
        Assert.Equal(WithoutWallTime(plain), WithoutWallTime(scientific));
        Assert.Equal(WithoutWallTime(plain), WithoutWallTime(point));
    }

    [Theory]
    [InlineData("--algo-param", "epsilon=abc", "passive: algo-param 'epsilon' must be a finite number in (0, inf), got 'abc'")]
    [InlineData("--algo-param", "pairs=8.7", "passive: algo-param 'pairs' must be an integer in [0, 2147483647], got '8.7'")]
    [InlineData("--algo-param", "pairs=1e400", "passive: algo-param 'pairs' must be an integer in [0, 2147483647], got '1e400'")]
    [InlineData("--algo-param", "pairs=inf", "passive: algo-param 'pairs' must be an integer in [0, 2147483647], got 'inf'")]
    [InlineData("--param", "responses=NaN", "needle: parameter 'responses' must be an integer in [2, 2147483647], got 'NaN'")]
    [InlineData("--param", "responses=9223372036854775808", "needle: parameter 'responses' must be an integer in [2, 2147483647], got '9223372036854775808'")]
    [InlineData("--param", "d=0x10", "needle: parameter 'd' must be an integer in [1, 100000], got '0x10'")]
    [InlineData("--param", "d=4 prompts=2", "needle: parameter 'd' must be an integer in [1, 100000], got '4 prompts=2'")]
    public void BadValues_AreOneLineNamingOwnerOptionValueAndRange(string flag, string pair, string message)
    {
        var r = CliHarness.Invoke([.. SmallPassive, flag, pair]);
        r.AssertBadInput($"{flag} {pair}");
        Assert.Equal("error: " + message, r.ErrorLines[0]);
    }

    [Fact]
    public void ValuesWithSpacesAndEquals_ArriveVerbatim()
    {
        RunRequest? seen = null;
        var r = CliHarness.Invoke(CliHarness.Fake(inspect: q => seen = q),
            "run", "--task", "letters", "--algo", "bestofn", "--seed", "1",
            "--param", "eval-verifier=python3 check.py --x=1", "--param", "verifier= a  b ", "--algo-param", "n=4");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("python3 check.py --x=1", seen!.InstanceParams["eval-verifier"]);
        Assert.Equal(" a  b ", seen.InstanceParams["verifier"]);
        Assert.Equal("4", seen.AlgoParams["n"]);
    }

    [Fact]
    public void SeveralPairsAfterOneFlag_StillWork()
    {
        RunRequest? seen = null;
        CliHarness.Invoke(CliHarness.Fake(inspect: q => seen = q),
            "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--param", "d=2", "prompts=3", "--algo-param", "epsilon=0.1", "nu=2");
        Assert.Equal(new Dictionary<string, string> { ["d"] = "2", ["prompts"] = "3" }, seen!.InstanceParams);
        Assert.Equal(new Dictionary<string, string> { ["epsilon"] = "0.1", ["nu"] = "2" }, seen.AlgoParams);
    }

    [Theory]
    [InlineData("--param", new[] { "a=1", "a=2" }, "--param sets 'a' twice")]
    [InlineData("--algo-param", new[] { "epsilon=0.1", "epsilon=0.2" }, "--algo-param sets 'epsilon' twice")]
    [InlineData("--param", new[] { "=5" }, "--param expects key=value, got '=5'")]
    [InlineData("--param", new[] { " =5" }, "--param expects key=value, got ' =5'")]
    [InlineData("--param", new[] { "d" }, "--param expects key=value, got 'd'")]
    [InlineData("--algo-param", new[] { "epsilon=" }, "--algo-param expects key=value, got 'epsilon='")]
    public void MalformedOrRepeatedPairs_AreOneLineNamingTheFlag(string flag, string[] pairs, string message)
    {
        var r = CliHarness.Invoke(CliHarness.Fake(), [.. SmallPassive, .. pairs.SelectMany(p => new[] { flag, p })]);
        r.AssertBadInput($"{flag} {string.Join(' ', pairs)}");
        Assert.Equal("error: " + message, r.ErrorLines[0]);
    }

    [Fact]
    public void TwoSpellingsOfOneFamilyParameter_AreGivenTwice()
    {
        var r = CliHarness.Invoke([.. SmallPassive, "--param", "r=2", "--param", "R=3"]);
        r.AssertBadInput("r=2 and R=3");
        Assert.Equal("error: needle: parameter 'R' given twice (as 'r' and 'R')", r.ErrorLines[0]);
    }

    [Fact]
    public void FamilyParameters_MatchCaseInsensitively()
    {
        var lower = CliHarness.Invoke([.. SmallPassive, "--param", "responses=50", "--param", "r=2", "--algo-param", "pairs=20"]);
        var upper = CliHarness.Invoke([.. SmallPassive, "--param", "responses=50", "--param", "R=2", "--algo-param", "pairs=20"]);
        Assert.Contains("R=2,", lower.SingleJsonObject().GetProperty("instance").GetString());
        Assert.Equal(WithoutWallTime(upper), WithoutWallTime(lower));
    }
}
