using System.Text.Json;
using LmExplore.LanguageModels;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.LanguageModels.Text;

/// <summary><c>run --task</c>, <c>lm train</c>, <c>lm tiny-gguf</c> through the CLI harness: end to end, determinism, bad input.</summary>
public class TextRunCliTests : IDisposable
{
    private readonly TempDirectory _dir = new("textcli");
    public void Dispose() => _dir.Dispose();

    /// <summary>The result line without wall_seconds (the only field allowed to differ between equal-seed runs).</summary>
    private static string WithoutWallTime(JsonElement result) => JsonSerializer.Serialize(
        result.EnumerateObject().Where(p => p.Name != "wall_seconds").ToDictionary(p => p.Name, p => p.Value));

    [Fact]
    public void Spanner_OnTheBuiltInTask_Completes_AndRepeatsWithTheSameSeed()
    {
        string[] args = ["run", "--task", "letters", "--algo", "spanner", "--seed", "3", "--budget-data", "80", "--budget-comp", "20000",
            "--algo-param", "lambda=1", "--param", "eval-samples=40", "--json"];
        var first = CliHarness.Invoke(args).SingleJsonObject();
        var second = CliHarness.Invoke(args).SingleJsonObject();
        Assert.Equal("text:letters", first.GetProperty("instance").GetString());
        Assert.True(first.GetProperty("T_data").GetInt64() <= 80);
        Assert.Equal("monte_carlo", first.GetProperty("evaluation").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("suboptimality").ValueKind);
        var d = first.GetProperty("diagnostics");
        double pass = d.GetProperty("pass_rate").GetDouble();
        Assert.InRange(pass, d.GetProperty("pass_rate_ci_low").GetDouble(), d.GetProperty("pass_rate_ci_high").GetDouble());
        Assert.Equal(80, d.GetProperty("verifier_calls_eval").GetDouble()); // 40 output draws + 40 π_ref draws, not charged
        Assert.Equal(WithoutWallTime(first), WithoutWallTime(second));
    }

    [Fact]
    public void BestOfN_ChargesNTimesThePrompts()
    {
        var r = CliHarness.Invoke("run", "--task", "letters", "--algo", "bestofn", "--algo-param", "n=4", "--seed", "1",
            "--param", "eval-samples=30", "--json").SingleJsonObject();
        Assert.Equal(60, r.GetProperty("T_data").GetInt64());
        Assert.Equal(60, r.GetProperty("T_comp").GetInt64());
        Assert.Equal(0, r.GetProperty("output_sample_cost").GetDouble());
        // Its answers are fixed: the pass rate is exact (15 uncharged verifier calls, after the 30 + 30 Monte Carlo ones).
        Assert.Equal("exact", r.GetProperty("evaluation").GetString());
        var d = r.GetProperty("diagnostics");
        Assert.Equal(d.GetProperty("pass_rate_ci_low").GetDouble(), d.GetProperty("pass_rate").GetDouble());
        Assert.Equal(75, d.GetProperty("verifier_calls_eval").GetDouble());
        double passing = d.GetProperty("pass_rate").GetDouble() * 15;
        Assert.Equal(Math.Round(passing), passing, 9); // a whole number of the 15 prompts
    }

    [Fact]
    public void HumanSummary_SaysRealizabilityIsApproximate()
    {
        var run = CliHarness.Invoke("run", "--task", "letters", "--algo", "passive", "--algo-param", "pairs=5", "--seed", "1", "--param", "eval-samples=10");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("realizability is approximate", run.Stdout);
        Assert.Contains("pass_rate", run.Stdout);
    }

    [Fact]
    public void TinyGguf_WrittenByTheProject_RunsSpanner_Deterministically()
    {
        string model = Path.Combine(_dir.Path, "tiny.gguf");
        var write = CliHarness.Invoke("lm", "tiny-gguf", "--out", model);
        Assert.Equal(0, write.ExitCode);
        string[] args = ["run", "--model", model, "--task", "letters", "--algo", "spanner", "--seed", "1", "--budget-data", "20",
            "--budget-comp", "300", "--param", "max-tokens=4", "--param", "eval-samples=8", "--algo-param", "rejection-coverage=2", "--json"];
        var first = CliHarness.Invoke(args).SingleJsonObject();
        var second = CliHarness.Invoke(args).SingleJsonObject();
        Assert.True(first.GetProperty("T_comp").GetInt64() <= 300);
        Assert.Equal(WithoutWallTime(first), WithoutWallTime(second));
    }

    [Fact]
    public void PromptsFile_TrainedNGram_AndAVerifierCommand_WorkTogether()
    {
        string corpus = _dir.Write("corpus.txt", string.Join("\n", Enumerable.Range(0, 200).Select(i => $"q{i % 5}: {(char)('a' + i % 7)}{(char)('a' + i * 3 % 7)}")));
        string modelPath = Path.Combine(_dir.Path, "m.json");
        var train = CliHarness.Invoke("lm", "train", "--corpus", corpus, "--order", "3", "--out", modelPath);
        Assert.Equal(0, train.ExitCode);
        Assert.Contains("3-gram char model", train.Stdout);
        string prompts = _dir.Write("prompts.jsonl", "{\"prompt\": \"q1: \"}\n{\"prompt\": \"q2: \", \"weight\": 3}\n");
        string verifier = _dir.Write("v.py", "import sys, json\nfor l in sys.stdin:\n    r = json.loads(l)\n    print(json.dumps({'id': r['id'], 'reward': float(r['response'].count('a'))}), flush=True)\n");
        var run = CliHarness.Invoke("run", "--task", prompts, "--model", modelPath, "--verifier", $"python3 '{verifier}'", "--algo", "passive",
            "--algo-param", "pairs=5", "--seed", "2", "--param", "eval-samples=10", "--param", "verifier-timeout=120", "--json").SingleJsonObject();
        Assert.Equal(10, run.GetProperty("T_data").GetInt64());
        Assert.Equal(2, run.GetProperty("diagnostics").GetProperty("prompts").GetDouble());
    }

    [Fact]
    public void FeatureCommand_GivesTheFeatures_AndGarbageStopsTheRun()
    {
        string script = _dir.Write("f.py", "import sys, json\nfor l in sys.stdin:\n    q = json.loads(l)\n    r = q['response']\n" +
            "    n = max(1, len(r))\n    print(json.dumps({'id': q['id'], 'features': [r.count(c) / n for c in 'abcdef']}), flush=True)\n");
        var run = CliHarness.Invoke("run", "--task", "letters", "--algo", "passive", "--algo-param", "pairs=5", "--seed", "1",
            "--feature-command", $"python3 '{script}'", "--param", "dim=6", "--param", "eval-samples=10",
            "--param", "verifier-timeout=120", "--json").SingleJsonObject();
        Assert.Equal(6, run.GetProperty("d").GetInt32());
        Assert.Equal(10, run.GetProperty("T_data").GetInt64());
        var bad = CliHarness.Invoke("run", "--task", "letters", "--algo", "passive", "--algo-param", "pairs=5", "--seed", "1",
            "--feature-command", "echo '{\"id\": 1, \"features\": [1, 2]}'", "--param", "dim=6");
        bad.AssertBadInput("a feature command of the wrong length");
        Assert.Contains("feature command replied", bad.Stderr);
        Assert.Contains("[6 numbers]", bad.Stderr);
    }

    [Fact]
    public void BadInput_IsOneLineAndExitTwo()
    {
        string prompts = _dir.Write("p.jsonl", "{\"prompt\": \"a\"}\n{\"prompt\": 3}\n");
        string good = _dir.Write("good.jsonl", "{\"prompt\": \"ab>\"}\n");
        var cases = new (string[] Args, string Expect)[]
        {
            (["run", "--task", "nosuch", "--algo", "spanner", "--seed", "1"], "unknown task 'nosuch'"),
            (["run", "--task", "letters", "--model", Path.Combine(_dir.Path, "missing.gguf"), "--algo", "spanner", "--seed", "1"], "file not found"),
            (["run", "--instance", "needle", "--model", "x.gguf", "--algo", "spanner", "--seed", "1"], "--model needs --task"),
            (["run", "--instance", "needle", "--task", "letters", "--algo", "spanner", "--seed", "1"], "either --instance or --task"),
            (["run", "--algo", "spanner", "--seed", "1"], "--instance"),
            (["run", "--task", prompts, "--algo", "passive", "--seed", "1", "--verifier", "cat"], "p.jsonl:2: \"prompt\" must be a non-empty string"),
            (["run", "--task", good, "--algo", "passive", "--seed", "1"], "has no built-in model: give --model"),
            (["run", "--task", "letters", "--algo", "passive", "--seed", "1", "--param", "colour=red"], "unknown text-task parameter 'colour'"),
            (["run", "--task", "letters", "--algo", "passive", "--seed", "1", "--param", "beta=-1"], "text-task parameter 'beta' must be"),
            (["run", "--task", "letters", "--algo", "passive", "--seed", "1", "--param", "reward=partial"], "must be one of fraction, binary"),
            (["run", "--task", "letters", "--algo", "bestofm", "--seed", "1"], "unknown algorithm 'bestofm'"),
            (["run", "--task", "letters", "--algo", "passive", "--seed", "1", "--verifier", "echo nonsense", "--algo-param", "pairs=2"], "not a JSON line"),
            (["lm", "train", "--corpus", Path.Combine(_dir.Path, "none.txt"), "--out", Path.Combine(_dir.Path, "m.json")], "file not found"),
            (["lm", "train", "--corpus", "letters", "--order", "0", "--out", Path.Combine(_dir.Path, "m.json")], "--order must be between 1 and 8"),
            (["lm", "train", "--corpus", "letters", "--level", "byte", "--out", Path.Combine(_dir.Path, "m.json")], "--level must be char or word"),
        };
        foreach (var (args, expect) in cases)
        {
            var outcome = CliHarness.Invoke(args);
            outcome.AssertBadInput(string.Join(' ', args));
            Assert.Contains(expect, outcome.Stderr);
        }
    }
}
