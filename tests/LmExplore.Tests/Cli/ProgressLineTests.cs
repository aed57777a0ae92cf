using System.Text.RegularExpressions;
using LmExplore.Cli;

namespace LmExplore.Tests.Cli;

/// <summary>Progress lines: what a batch log of a long sweep or reproduce shows.</summary>
public class ProgressLineTests
{
    private const string Config = """
        { "format": "lmexplore.sweep/v1", "name": "progress-test", "instance": "needle",
          "instanceParams": { "ccov": 10, "responses": 50 },
          "algorithms": [ { "name": "passive", "params": { "pairs": 50 } } ], "seeds": 6 }
        """;

    private static readonly Regex Line = new(@"^sweep progress-test: (\d+)/6 runs, (\d+)%, (ETA (\d+[hms])+|ETA unknown|done in \d+[hms].*)$");

    [Fact]
    public void Sweep_WithStderrNotATerminal_PrintsProgressLines_WithDoneTotalAndEta()
    {
        using var dir = CliHarness.TempDir();
        var r = CliHarness.Invoke(null, TimeSpan.Zero, "sweep", "--config", dir.Write("sweep.json", Config), "--out", dir.File("out"), "--parallel", "1");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var lines = r.ErrorLines;
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.Matches(Line, l));
        Assert.Contains(lines, l => l.Contains("ETA ", StringComparison.Ordinal));
        Assert.StartsWith("sweep progress-test: 6/6 runs, 100%, done in ", lines[^1]);
        Assert.Equal(Enumerable.Range(1, 6).Select(i => i.ToString()), lines.Select(l => Line.Match(l).Groups[1].Value));
        Assert.DoesNotContain("runs,", r.Stdout); // progress goes to stderr only
    }

    [Fact]
    public void Run_WithStderrNotATerminal_PrintsPercentAndEta_AndNothingWithJson()
    {
        var args = new[] { "run", "--instance", "needle", "--param", "ccov=10", "responses=200", "--algo", "spanner", "--budget-comp", "20000", "--seed", "1" };
        var r = CliHarness.Invoke(null, TimeSpan.Zero, args);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var line = new Regex(@"^run spanner on needle: (\d+)%, (ETA (\d+[hms])+|done in \d+[hms].*)$");
        Assert.NotEmpty(r.ErrorLines);
        Assert.All(r.ErrorLines, l => Assert.Matches(line, l));
        Assert.StartsWith("run spanner on needle: 100%, done in ", r.ErrorLines[^1]);
        var percents = r.ErrorLines.Select(l => int.Parse(line.Match(l).Groups[1].Value)).ToList();
        Assert.Equal(percents.Order(), percents);   // never goes backwards

        var json = CliHarness.Invoke(null, TimeSpan.Zero, [.. args, "--json"]);
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.Equal("", json.Stderr);
    }

    [Fact]
    public void ShortSweep_UnderTheInterval_PrintsNoProgressLine()
    {
        using var dir = CliHarness.TempDir();
        var r = CliHarness.Invoke(null, TimeSpan.FromHours(1), "sweep", "--config", dir.Write("sweep.json", Config), "--out", dir.File("out"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public void Lines_AreRateLimited_AndTheLastOneClosesTheLog()
    {
        var quiet = new StringWriter();
        var slow = new ProgressLines(quiet, "job", 10, TimeSpan.FromHours(1));
        for (int i = 0; i <= 10; i++) slow.Report(i);
        Assert.Equal("", quiet.ToString()); // nothing printed before the interval, so no closing line either

        var loud = new StringWriter { NewLine = "\n" };
        var fast = new ProgressLines(loud, "job", 10, TimeSpan.Zero);
        for (int i = 0; i <= 10; i++) fast.Report(i);
        var lines = loud.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length); // the first report (0 done) has nothing to extrapolate from
        Assert.StartsWith("job: 1/10 runs, 10%, ETA ", lines[0]);
        Assert.StartsWith("job: 10/10 runs, 100%, done in ", lines[^1]);
    }

    [Theory]
    [InlineData(0.2, "1s")]
    [InlineData(42, "42s")]
    [InlineData(65, "1m05s")]
    [InlineData(3599, "59m59s")]
    [InlineData(7380, "2h03m")]
    public void Duration_IsShortAndReadable(double seconds, string expected) =>
        Assert.Equal(expected, ProgressLines.Duration(TimeSpan.FromSeconds(seconds)));
}
