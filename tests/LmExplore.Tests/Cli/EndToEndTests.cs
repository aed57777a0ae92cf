using LmExplore.Runs;
using System.Text.Json;
using LmExplore.Experiments;

namespace LmExplore.Tests.Cli;

/// <summary>The CLI with the real instance catalog and runner, on small instances (each run well under a second).</summary>
public class EndToEndTests
{
    private static readonly string[] Needle = ["--instance", "needle", "--param", "prompts=2", "responses=60", "ccov=10"];

    private static string[] Run(string algo, ulong seed, params string[] extra) =>
        ["run", .. Needle, "--algo", algo, "--seed", seed.ToString(), "--json", .. extra];

    [Theory]
    [InlineData("passive")]
    [InlineData("spanner")]
    public void RunJson_HasSpecKeys_AndAValidResult(string algo)
    {
        var r = CliHarness.Invoke(Run(algo, 3, "--budget-comp", "200000"));
        Assert.Equal("", r.Stderr);
        var o = r.SingleJsonObject();
        CliAssert.HasExactlySpecKeys(o);
        Assert.Equal(algo, o.GetProperty("algorithm").GetString());
        Assert.Equal(3UL, o.GetProperty("seed").GetUInt64());
        Assert.Equal(JsonValueKind.Null, o.GetProperty("C_cond").ValueKind);
        double jOpt = o.GetProperty("J_opt").GetDouble(), jOut = o.GetProperty("J_out").GetDouble();
        Assert.Equal(jOpt - jOut, o.GetProperty("suboptimality").GetDouble(), 12);
        Assert.True(o.GetProperty("suboptimality").GetDouble() >= -1e-12);
        Assert.True(o.GetProperty("T_comp").GetInt64() is > 0 and <= 200000);
        Assert.True(o.GetProperty("T_data").GetInt64() > 0);
    }

    [Theory]
    [InlineData("passive")]
    [InlineData("spanner")]
    public void SameSeed_SameJson_ExceptWallTime_OtherSeed_Differs(string algo)
    {
        string a = Normalized(CliHarness.Invoke(Run(algo, 11, "--budget-comp", "100000")));
        string b = Normalized(CliHarness.Invoke(Run(algo, 11, "--budget-comp", "100000")));
        string c = Normalized(CliHarness.Invoke(Run(algo, 12, "--budget-comp", "100000")));
        Assert.Equal(a, b);
        Assert.NotEqual(a.Replace("\"seed\":11", "\"seed\":12"), c);
    }

    [Fact]
    public void Strict_WithTinyBudget_ExitsThree_WithoutStrict_Zero()
    {
        var strict = CliHarness.Invoke(Run("spanner", 1, "--budget-comp", "50", "--strict"));
        Assert.Equal(3, strict.ExitCode);
        Assert.Equal("budget_exhausted", strict.SingleJsonObject().GetProperty("status").GetString());
        Assert.True(strict.SingleJsonObject().GetProperty("T_comp").GetInt64() <= 50);

        var lenient = CliHarness.Invoke(Run("spanner", 1, "--budget-comp", "50"));
        Assert.Equal(0, lenient.ExitCode);
        Assert.Equal("budget_exhausted", lenient.SingleJsonObject().GetProperty("status").GetString());
    }

    [Fact]
    public void Out_AppendsValidJsonLines_MatchingStdout()
    {
        using var dir = CliHarness.TempDir();
        var path = dir.File("results.jsonl");
        var first = CliHarness.Invoke(Run("passive", 1, "--out", path));
        var second = CliHarness.Invoke(["run", .. Needle, "--algo", "passive", "--seed", "2", "--out", path]); // human output, still appended
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(0, second.ExitCode);
        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        Assert.Equal(first.Stdout.TrimEnd('\n'), lines[0]);
        Assert.Equal(1UL, RunResultJson.Parse(lines[0]).Seed);
        Assert.Equal(2UL, RunResultJson.Parse(lines[1]).Seed);
    }

    [Fact]
    public void Export_ThenInspect_RoundTrips_AndRunsOnTheFile()
    {
        using var dir = CliHarness.TempDir();
        var path = dir.File("inst.json");
        var export = CliHarness.Invoke(["instance", "export", .. Needle, "--seed", "5", "--out", path]);
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Equal("", export.Stdout);
        Assert.Single(Directory.GetFiles(dir.Path)); // no temp file left behind

        var fromFamily = CliHarness.Invoke(["instance", "inspect", "needle", "--param", "prompts=2", "responses=60", "ccov=10", "--seed", "5", "--json"]).SingleJsonObject();
        var fromFile = CliHarness.Invoke("instance", "inspect", path, "--json").SingleJsonObject();
        foreach (var key in new[] { "d", "prompts", "responses", "responses_per_prompt_max" })
            Assert.Equal(fromFamily.GetProperty(key).GetInt64(), fromFile.GetProperty(key).GetInt64());
        foreach (var key in new[] { "beta", "R_max", "J_opt", "J_ref", "C_cov", "avg_coverage" })
        {
            double expected = fromFamily.GetProperty(key).GetDouble(), actual = fromFile.GetProperty(key).GetDouble();
            Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{key}: family {expected}, file {actual}");
        }
        Assert.Equal(JsonValueKind.Null, fromFile.GetProperty("C_cond").ValueKind);

        var run = CliHarness.Invoke("run", "--instance", path, "--algo", "passive", "--seed", "5", "--json");
        Assert.Equal(fromFamily.GetProperty("J_opt").GetDouble(), run.SingleJsonObject().GetProperty("J_opt").GetDouble(), 12);
    }

    [Fact]
    public void Export_OntoUnwritablePath_LeavesNoPartialFile()
    {
        using var dir = CliHarness.TempDir();
        var occupied = Directory.CreateDirectory(Path.Combine(dir.Path, "occupied.json")).FullName; // target is a directory
        CliHarness.Invoke(["instance", "export", .. Needle, "--seed", "1", "--out", occupied]).AssertBadInput("export onto a directory");
        CliHarness.Invoke(["instance", "export", .. Needle, "--seed", "1", "--out", Path.Combine(dir.Path, "missing", "inst.json")])
            .AssertBadInput("export into a missing directory");
        Assert.Equal([occupied], Directory.GetFileSystemEntries(dir.Path));
        Assert.Empty(Directory.GetFileSystemEntries(occupied));

        // A failing export (bad parameter) must not touch an existing file.
        var existing = dir.Write("keep.json", "previous content");
        CliHarness.Invoke(["instance", "export", "--instance", "needle", "--param", "beta=-1", "--seed", "1", "--out", existing])
            .AssertBadInput("export with a bad parameter");
        Assert.Equal("previous content", File.ReadAllText(existing));
        Assert.Equal(2, Directory.GetFileSystemEntries(dir.Path).Length);
    }

    [Fact]
    public void InspectFamily_Json_HasTheContractKeys()
    {
        var o = CliHarness.Invoke(["instance", "inspect", "needle", "--param", "prompts=2", "responses=60", "ccov=10", "--json"]).SingleJsonObject();
        foreach (var key in new[] { "d", "prompts", "responses", "responses_per_prompt_max", "beta", "R_max", "J_opt", "J_ref", "C_cov", "C_cond", "avg_coverage" })
            Assert.True(o.TryGetProperty(key, out _), $"missing key {key}");
        Assert.Equal(120, o.GetProperty("responses").GetInt64());
        Assert.Equal(60, o.GetProperty("responses_per_prompt_max").GetInt64());
        Assert.Equal(10, o.GetProperty("C_cov").GetDouble(), 6); // needle is constructed for this coverage
        Assert.True(o.GetProperty("J_opt").GetDouble() > o.GetProperty("J_ref").GetDouble());
    }

    /// <summary>The run JSON with wall_seconds removed.</summary>
    private static string Normalized(CliOutcome r)
    {
        var o = r.SingleJsonObject();
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var p in o.EnumerateObject())
                if (p.Name != "wall_seconds") p.WriteTo(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }
}
