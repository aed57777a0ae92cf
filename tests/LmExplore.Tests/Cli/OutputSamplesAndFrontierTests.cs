using System.Text.Json;

namespace LmExplore.Tests.Cli;

/// <summary><c>run --output-samples</c> and <c>frontier</c> end to end through the in-process CLI.</summary>
public class OutputSamplesCliTests
{
    private static string[] Run(ulong seed, params string[] extra) =>
        ["run", "--instance", "needle", "--param", "prompts=2", "--param", "responses=60", "--param", "ccov=10",
            "--algo", "passive", "--budget-data", "200", "--seed", seed.ToString(), "--json", .. extra];

    [Fact]
    public void WritesNJsonLines_AndTheSameSeedWritesTheSameFile()
    {
        using var dir = CliHarness.TempDir();
        string a = dir.File("a.jsonl"), b = dir.File("b.jsonl"), c = dir.File("c.jsonl");
        var first = CliHarness.Invoke(Run(5, "--output-samples", "50", "--output-samples-file", a));
        var result = first.SingleJsonObject();
        Assert.Equal("", first.Stderr);
        var lines = File.ReadAllLines(a);
        Assert.Equal(50, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
            Assert.Equal(["prompt", "response"], names);
            Assert.InRange(doc.RootElement.GetProperty("prompt").GetInt32(), 0, 1);
            Assert.InRange(doc.RootElement.GetProperty("response").GetInt32(), 0, 59);
        }
        // Drawing from the output is not charged to the run: the result is the one without --output-samples.
        var plain = CliHarness.Invoke(Run(5)).SingleJsonObject();
        Assert.Equal(plain.GetProperty("T_comp").GetInt64(), result.GetProperty("T_comp").GetInt64());
        Assert.Equal(plain.GetProperty("suboptimality").GetDouble(), result.GetProperty("suboptimality").GetDouble());

        CliHarness.Invoke(Run(5, "--output-samples", "50", "--output-samples-file", b)).SingleJsonObject();
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        CliHarness.Invoke(Run(6, "--output-samples", "50", "--output-samples-file", c)).SingleJsonObject();
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
    }

    [Fact]
    public void BadInputs_ExitTwoWithOneLine()
    {
        using var dir = CliHarness.TempDir();
        string file = dir.File("draws.jsonl");
        CliHarness.Invoke(Run(1, "--output-samples", "10")).AssertBadInput("N without a file");
        CliHarness.Invoke(Run(1, "--output-samples-file", file)).AssertBadInput("a file without N");
        CliHarness.Invoke(Run(1, "--output-samples", "0", "--output-samples-file", file)).AssertBadInput("N = 0");
        CliHarness.Invoke(Run(1, "--output-samples", "-3", "--output-samples-file", file)).AssertBadInput("N < 0");
        CliHarness.Invoke(Run(1, "--output-samples", "10", "--output-samples-file", dir.Path)).AssertBadInput("a directory as the file");
        CliHarness.Invoke(Run(1, "--output-samples", "10", "--output-samples-file", dir.File("missing/draws.jsonl")))
            .AssertBadInput("a file in a missing directory");
        Assert.False(File.Exists(file));
    }
}

public class FrontierCliTests
{
    private static string[] Frontier(params string[] extra) =>
        ["frontier", "--instance", "needle", "--param", "ccov=10", "--param", "responses=200", "--param", "prompts=2",
            "--algo", "spanner", "--seeds", "3", "--ratio", "2", "--comp-from", "250", "--comp-to", "64000",
            "--data-from", "8", "--data-to", "2048", "--parallel", "2", "--json", .. extra];

    [Fact]
    public void Json_HasTheFrontier_AndComputeToEpsIsTheFirstSuccessfulBudget()
    {
        var o = CliHarness.Invoke(Frontier()).SingleJsonObject();
        foreach (var key in new[] { "compute_to_eps", "data_to_eps", "success_by_budget", "epsilon", "seeds", "data_scan_budget_comp" })
            Assert.True(o.TryGetProperty(key, out _), $"missing key {key}");
        Assert.Equal(3, o.GetProperty("seeds").GetArrayLength());
        int required = (int)Math.Ceiling((1 - o.GetProperty("delta").GetDouble()) * 3 - 1e-9);
        var points = o.GetProperty("success_by_budget").EnumerateArray().ToArray();
        Assert.All(points, p => Assert.Equal(3, p.GetProperty("runs").GetInt32()));

        foreach (var (kind, key) in new[] { ("comp", "compute_to_eps"), ("data", "data_to_eps") })
        {
            var scan = points.Where(p => p.GetProperty("kind").GetString() == kind).ToArray();
            Assert.NotEmpty(scan);
            var budgets = scan.Select(p => p.GetProperty("budget").GetInt64()).ToArray();
            Assert.Equal(budgets.Order(), budgets);                                   // the grid walks upward
            var first = scan.FirstOrDefault(p => p.GetProperty("reached").GetInt32() >= required);
            var answer = o.GetProperty(key);
            if (first.ValueKind == JsonValueKind.Undefined) Assert.Equal(JsonValueKind.Null, answer.ValueKind);
            else
            {
                Assert.Equal(first.GetProperty("budget").GetInt64(), answer.GetInt64());
                Assert.Equal(answer.GetInt64(), budgets[^1]);                           // the scan stops at the first success
            }
        }
        // On this easy instance both are found, and the data scan runs under twice compute-to-ε.
        long computeToEps = o.GetProperty("compute_to_eps").GetInt64();
        Assert.Equal(2 * computeToEps, o.GetProperty("data_scan_budget_comp").GetInt64());
        Assert.True(o.GetProperty("data_to_eps").GetInt64() > 0);
    }

    [Theory]
    [InlineData("--ratio", "1")]
    [InlineData("--seeds", "0")]
    [InlineData("--algo", "sgd")]
    [InlineData("--delta", "1")]
    public void BadInputs_ExitTwoWithOneLine(string flag, string value)
    {
        var args = Frontier().ToList();
        int i = args.IndexOf(flag);
        if (i >= 0) args[i + 1] = value;
        else args.AddRange([flag, value]);
        CliHarness.Invoke([.. args]).AssertBadInput($"{flag} {value}");
    }
}
