using LmExplore.Cli;
using LmExplore.Experiments.Export;
using LmExplore.Runs;
using LmExplore.Text;

namespace LmExplore.Tests.Cli;

/// <summary>
/// Inputs that used to end in exit 1 (an internal error), a hang or a silently wrong run: each is now one error line
/// and exit 2, or a correct result.
/// </summary>
public class HostileInputTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("--comp-from", "9000000000000000000")]
    [InlineData("--comp-to", "9223372036854775807")]
    [InlineData("--data-to", "9223372036854775807")]
    [InlineData("--data-scan-comp", "9223372036854775807")]
    public void Frontier_BudgetsBeyondTheGridRange_AreRefused(string option, string value)
    {
        var outcome = CliHarness.Invoke("frontier", "--instance", "needle", "--algo", "passive", option, value);
        outcome.AssertBadInput($"frontier {option} {value}");
        Assert.Contains(option, outcome.Stderr);
    }

    [Fact]
    public void Frontier_WhoseRunsAllRefuseTheirBudget_IsBadInput_NotABug()
    {
        // The runs of one grid point run in parallel; each refuses the budget, and that is the input's fault.
        var outcome = CliHarness.Invoke("frontier", "--instance", "needle", "--param", "prompts=2", "responses=50", "--algo", "passive",
            "--seeds", "2", "--comp-from", "900000000000000000", "--comp-to", "1000000000000000000", "--json");
        outcome.AssertBadInput("a grid whose runs cannot finish");
        Assert.Contains("cannot finish", outcome.Stderr);
    }

    [Fact]
    public void PromptsFile_WithWeightsWhoseSumOverflows_IsNormalised()
    {
        using var dir = CliHarness.TempDir();
        var prompts = TextTask.ReadPrompts(dir.Write("p.jsonl", "{\"prompt\": \"ab>\", \"weight\": 1e308}\n{\"prompt\": \"cd>\", \"weight\": 1e308}\n{\"prompt\": \"ef>\", \"weight\": 5e307}\n"));
        Assert.Equal([0.4, 0.4, 0.2], prompts.Select(p => p.Weight));

        // A finite sum keeps its normalisation exactly: w / Σw.
        var ordinary = TextTask.ReadPrompts(dir.Write("q.jsonl", "{\"prompt\": \"a\", \"weight\": 0.1}\n{\"prompt\": \"b\", \"weight\": 0.7}\n{\"prompt\": \"c\"}\n"));
        double total = 0.1 + 0.7 + 1;
        Assert.Equal([0.1 / total, 0.7 / total, 1 / total], ordinary.Select(p => p.Weight));
    }

    [Fact]
    public void PromptsFile_WithWeightsWhoseSumOverflows_Runs()
    {
        using var dir = CliHarness.TempDir();
        string model = dir.File("m.json");
        Assert.Equal(0, CliHarness.Invoke("lm", "train", "--corpus", "letters", "--order", "2", "--out", model).ExitCode);
        string prompts = dir.Write("p.jsonl", "{\"prompt\": \"ab>\", \"weight\": 1e308}\n{\"prompt\": \"cd>\", \"weight\": 1e308}\n");
        string verifier = dir.Write("v.py", "import sys, json\nfor l in sys.stdin:\n    print(json.dumps({'id': json.loads(l)['id'], 'reward': 1.0}), flush=True)\n");
        var run = CliHarness.Invoke("run", "--task", prompts, "--model", model, "--verifier", $"python3 '{verifier}'", "--algo", "passive",
            "--algo-param", "pairs=3", "--seed", "1", "--param", "eval-samples=4", "--param", "verifier-timeout=120", "--json").SingleJsonObject();
        Assert.Equal(2, run.GetProperty("diagnostics").GetProperty("prompts").GetDouble());
    }

    [Theory]
    [InlineData("{\"prompt\": \"ab\\ud800>\"}", "p.jsonl:1: a string holds a \\u escape that is not valid Unicode")]
    [InlineData("{\"prompt\": \"ab>\", \"\\udc00\": 1}", "p.jsonl:1: a string holds a \\u escape that is not valid Unicode")]
    [InlineData("{\"prompt\": \"ab>\", \"prompt\": \"cd>\"}", "p.jsonl:1: key \"prompt\" appears twice")]
    [InlineData("{\"prompt\": \"ab>\", \"weight\": 2, \"weight\": 3}", "p.jsonl:1: key \"weight\" appears twice")]
    [InlineData("{\"prompt\": \"ab>\", \"wieght\": 2}", "p.jsonl:1: unknown key \"wieght\" (did you mean \"weight\"?")]
    [InlineData("{\"prompt\": \"ab>\", \"Weight\": 2}", "p.jsonl:1: unknown key \"Weight\" (did you mean \"weight\"?")]
    [InlineData("{\"promt\": \"ab>\"}", "p.jsonl:1: unknown key \"promt\" (did you mean \"prompt\"?")]
    public void PromptsFile_BadLines_AreRefusedNamingTheLineAndKey(string line, string message)
    {
        using var dir = CliHarness.TempDir();
        string prompts = dir.Write("p.jsonl", line + "\n");
        var outcome = CliHarness.Invoke("run", "--task", prompts, "--model", "x.json", "--verifier", "cat", "--algo", "passive", "--seed", "1");
        outcome.AssertBadInput(line);
        Assert.Contains(message, outcome.Stderr);
    }

    [Fact]
    public void PromptsFile_OtherKeys_AreStillIgnored()
    {
        using var dir = CliHarness.TempDir();
        var prompts = TextTask.ReadPrompts(dir.Write("p.jsonl", "{\"id\": 7, \"prompt\": \"ab>\", \"prompt_id\": \"x\", \"answer\": \"a\"}\n"));
        Assert.Equal("ab>", Assert.Single(prompts).Text);
    }

    [Theory]
    [InlineData("\"order\":(2)", "$.order: expected an integer")]
    [InlineData("\"ngrams\":\\[\\[(-?\\d+)", "$.ngrams[0][0]: expected an integer")]
    public void NGramModel_WithAStringForANumber_IsRefusedNamingThePath(string number, string message)
    {
        using var dir = CliHarness.TempDir();
        string good = dir.File("m.json");
        Assert.Equal(0, CliHarness.Invoke("lm", "train", "--corpus", "letters", "--order", "2", "--out", good).ExitCode);
        string text = File.ReadAllText(good);
        var pattern = new System.Text.RegularExpressions.Regex(number);
        Assert.Matches(pattern, text);
        // The first number the pattern captures, written as a string: "order": "2".
        string to = pattern.Replace(text, m => m.Value[..(m.Groups[1].Index - m.Index)] + "\"" + m.Groups[1].Value + "\"", 1);
        string bad = dir.Write("bad.json", to);
        var outcome = CliHarness.Invoke("lm", "sample", "--model", bad, "--prompt", "ab>", "--seed", "1");
        outcome.AssertBadInput(message);
        Assert.Contains(message, outcome.Stderr);
        CliHarness.Invoke("run", "--task", "letters", "--model", bad, "--algo", "passive", "--seed", "1").AssertBadInput(message + " in run");
    }

    /// <summary>Non-regular inputs: the system's /dev/zero (read-only use: it is never opened) and a FIFO of the test's own.</summary>
    public static TheoryData<string> SpecialInputs => new() { "/dev/zero", "fifo" };

    [Theory]
    [MemberData(nameof(SpecialInputs))]
    public void NonRegularInputs_AreRefused_NeverReadForever(string kind)
    {
        using var dir = CliHarness.TempDir();
        string input = kind == "fifo" ? SpecialFiles.Fifo(dir.File("in.json")) : kind;
        string[][] commands =
        [
            ["run", "--instance", input, "--algo", "passive", "--seed", "1"],
            ["instance", "inspect", input],
            ["instance", "export", "--instance", input, "--seed", "1", "--out", dir.File("x.json")],
            ["run", "--task", "letters", "--model", input, "--algo", "passive", "--seed", "1"],
            ["lm", "sample", "--model", input, "--prompt", "ab>", "--seed", "1"],
            ["lm", "train", "--corpus", input, "--out", dir.File("m.json")],
            ["run", "--task", input, "--algo", "passive", "--seed", "1"],
            ["report", input, "--out", dir.File("r.html")],
            ["export", input, "--out", dir.File("r.csv")],
            ["sweep", "--config", input, "--out", dir.File("sweep")],
        ];
        foreach (var args in commands)
        {
            var outcome = SpecialFiles.InvokeBounded(null, args, Bound, kind == "fifo" ? [input] : []);
            outcome.AssertBadInput(string.Join(' ', args));
            Assert.Contains(kind == "fifo" ? "FIFO" : "character device", outcome.Stderr);
        }
        Assert.Equal(kind == "fifo" ? ["in.json"] : [], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Inputs_InTheKernelFileSystems_AreRefused()
    {
        var outcome = SpecialFiles.InvokeBounded(null, ["instance", "inspect", "/proc/self/status"], Bound);
        outcome.AssertBadInput("a /proc file as an instance");
        Assert.Contains("kernel's proc file system", outcome.Stderr);
    }

    [Theory]
    [InlineData("")]
    [InlineData(",")]
    [InlineData(" , ")]
    public void Reproduce_WithAnEmptyOnly_IsRefused_RatherThanRunningEverything(string only)
    {
        using var dir = CliHarness.TempDir();
        var outcome = CliHarness.Invoke("reproduce", "--quick", "--only", only, "--out", dir.File("out"));
        outcome.AssertBadInput($"--only '{only}'");
        Assert.Contains("--only needs at least one experiment id", outcome.Stderr);
        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Theory]
    [InlineData("verifier-retries=1.5", "verifier-retries")]
    [InlineData("eval-samples=2.5", "eval-samples")]
    [InlineData("eval-samples=1e400", "eval-samples")]
    public void TextTaskCounts_ThatAreNotIntegers_AreRefused(string param, string key)
    {
        var outcome = CliHarness.Invoke("run", "--task", "letters", "--param", param, "--algo", "passive", "--seed", "1");
        outcome.AssertBadInput(param);
        Assert.Contains($"'{key}' must be an integer", outcome.Stderr);
    }

    [Theory]
    [InlineData("1e9", 1_000_000_000)]
    [InlineData("1E9", 1_000_000_000)]
    [InlineData("1.0e9", 1_000_000_000)]
    [InlineData("10e8", 1_000_000_000)]
    [InlineData("2.5e4", 25_000)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Budgets_InScientificNotation_AreExact(string text, long expected)
    {
        Assert.Equal(CliSupport.CountParse.Ok, CliSupport.ParseCount(text, out long value));
        Assert.Equal(expected, value);
        long? seen = null;
        var outcome = CliHarness.Invoke(CliHarness.Fake(inspect: r => seen = r.BudgetComp), "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--budget-comp", text);
        Assert.Equal(0, outcome.ExitCode);
        Assert.Equal(expected, seen);
    }

    [Fact]
    public void LmTrain_WordCorpusHoldingTheEndToken_IsRefusedNamingTheLine_AndACharCorpusGivesALoadableModel()
    {
        using var dir = CliHarness.TempDir();
        string words = dir.Write("words.txt", "a b c\nx </s> y\n");
        var refused = CliHarness.Invoke("lm", "train", "--corpus", words, "--level", "word", "--order", "2", "--out", dir.File("w.json"));
        refused.AssertBadInput("</s> in a word corpus");
        Assert.Contains("line 2", refused.Stderr);
        Assert.Contains("'</s>'", refused.Stderr);
        Assert.False(File.Exists(dir.File("w.json")));

        // At the character level "</s>" is four characters: the model trains, and every command loads it.
        string chars = dir.Write("chars.txt", "ab</s>cd\nabc\n");
        Assert.Equal(0, CliHarness.Invoke("lm", "train", "--corpus", chars, "--order", "2", "--out", dir.File("c.json")).ExitCode);
        var sample = CliHarness.Invoke("lm", "sample", "--model", dir.File("c.json"), "--prompt", "a</s>", "--n", "2", "--seed", "1");
        Assert.True(sample.ExitCode == 0, sample.Stderr);
    }

    [Fact]
    public void CsvExport_NeutralisesFormulas_AndKeepsNumbersNumbers()
    {
        using var dir = CliHarness.TempDir();
        string results = dir.File("r.jsonl");
        Assert.Equal(0, CliHarness.Invoke(CliHarness.Fake(), "run", "--instance", "needle", "--algo", "passive", "--seed", "1", "--out", results).ExitCode);
        string line = File.ReadAllText(results).Trim().Replace("\"J_ref\":0.1,", "\"J_ref\":-0.25,");
        Assert.Contains("\"instance\":\"needle\"", line);
        // Instance names a results file may hold (they come from files and sweep configs), each a formula to a spreadsheet.
        var names = new[] { "=HYPERLINK(\"http://x\",\"y\")", "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "plain" };
        File.WriteAllLines(results, names.Select(n => line.Replace("\"instance\":\"needle\"", "\"instance\":" + System.Text.Json.JsonSerializer.Serialize(n))));
        string csv = dir.File("r.csv");
        Assert.Equal(0, CliHarness.Invoke("export", results, "--out", csv).ExitCode);
        string text = File.ReadAllText(csv);
        Assert.Contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",", text);
        foreach (var cell in new[] { ",'+1,", ",'-cmd,", ",'@SUM(A1),", ",'\tx,", "\"'\rx\"", ",plain," })
            Assert.Contains(cell, text);
        Assert.Contains(",-0.25,", text);     // a number stays a number
        Assert.DoesNotContain(",'-0.25,", text);

        Assert.Equal("'=1", RunTable.NeutralizeFormula("=1"));
        Assert.Equal("a=1", RunTable.NeutralizeFormula("a=1"));
        Assert.Equal("", RunTable.NeutralizeFormula(""));
    }

    [Fact]
    public void SweepConfigErrors_NameTheConfigFile()
    {
        using var dir = CliHarness.TempDir();
        string parse = dir.Write("seeds.json", """{ "format": "lmexplore.sweep/v1", "instance": "needle", "algorithms": ["passive"], "seeds": 1.5 }""");
        var a = CliHarness.Invoke("sweep", "--config", parse, "--out", dir.File("a"));
        a.AssertBadInput("seeds 1.5");
        Assert.Contains($"{parse}: $.seeds", a.Stderr);

        string algorithm = dir.Write("algo.json", """{ "format": "lmexplore.sweep/v1", "instance": "needle", "algorithms": ["nope"] }""");
        var b = CliHarness.Invoke("sweep", "--config", algorithm, "--out", dir.File("b"));
        b.AssertBadInput("an unknown algorithm");
        Assert.Contains($"{algorithm}: run ", b.Stderr);
        Assert.Contains("unknown algorithm 'nope'", b.Stderr);

        string json = dir.Write("broken.json", "{ \"format\": ");
        var c = CliHarness.Invoke("sweep", "--config", json, "--out", dir.File("c"));
        c.AssertBadInput("broken JSON");
        Assert.Contains($"{json}: not valid JSON", c.Stderr);
    }
}
