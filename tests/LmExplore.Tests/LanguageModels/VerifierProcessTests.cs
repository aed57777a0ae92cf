using System.Diagnostics;
using System.Text.Json;
using LmExplore.Experiments;
using LmExplore.Runs;
using LmExplore.Tests.Cli;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels;

/// <summary>
/// A verifier or feature command is a process the run does not control: it may never read its input, print without end
/// on stdout or stderr, hang before its first reply, or fail only in the evaluation. Each ends the run with one line
/// (exit 2 through the CLI), in bounded time and memory, and leaves no process behind.
/// </summary>
public class VerifierProcessTests : IDisposable
{
    private readonly TempDirectory _dir = new("verifier-process");
    public void Dispose() => _dir.Dispose();

    private static RunRequest Letters(string command, string timeout = "60", string evalSamples = "0", string? evalVerifier = null)
    {
        var p = new Dictionary<string, string> { ["verifier"] = command, ["eval-samples"] = evalSamples, ["verifier-timeout"] = timeout };
        if (evalVerifier is not null)
        {
            p.Remove("verifier");
            p["eval-verifier"] = evalVerifier;
        }
        return new RunRequest("text:letters", p, "passive", new Dictionary<string, string> { ["pairs"] = "5" }, Seed: 1);
    }

    [Fact(Timeout = 180_000)]
    public async Task ABigRequestToAVerifierThatStopsReading_TimesOut_WithOneLine()
    {
        // The second prompt is 120 KB, more than a pipe holds: writing it blocks until the verifier reads, which it never does.
        var model = Path.Combine(_dir.Path, "m.json");
        Assert.Equal(0, CliHarness.Invoke("lm", "train", "--corpus", "letters", "--order", "3", "--out", model).ExitCode);
        string prompts = _dir.Write("prompts.jsonl",
            JsonSerializer.Serialize(new { prompt = "ab>" }) + "\n" + JsonSerializer.Serialize(new { prompt = string.Concat(Enumerable.Repeat("ab", 60_000)) + ">" }) + "\n");
        string pid = Path.Combine(_dir.Path, "verifier.pid");
        string verifier = $"echo $$ > '{pid}'; read -r line; echo '{{\"id\": 1, \"reward\": 0}}'; exec sleep 1000";
        var clock = Stopwatch.StartNew();
        var run = await Task.Run(() => CliHarness.Invoke("run", "--task", prompts, "--model", model, "--verifier", verifier,
            "--algo", "bestofn", "--algo-param", "n=1", "--seed", "1", "--param", "eval-samples=0", "--param", "verifier-timeout=2"));
        run.AssertBadInput("a verifier that stops reading its input");
        Assert.Matches(@"verifier did not answer within [2-9](\.\d+)? s \(after 1 answered calls; it was stopped\)", run.Stderr);
        Assert.Contains("[T_data = 1]", run.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"took {clock.Elapsed}");
        Assert.False(ChildProcesses.StillRunning(int.Parse(File.ReadAllText(pid).Trim())), "the verifier outlived the run");
    }

    [Fact(Timeout = 120_000)]
    public async Task TheRequestLines_AreThoseOfTheDocumentedExchange()
    {
        // docs/FORMATS.md, "Verifier protocol": the request lines verbatim, ids counting from 1.
        string log = Path.Combine(_dir.Path, "requests.log");
        using var process = new JsonLineProcess("verifier",
            $"n=0; while IFS= read -r l; do printf '%s\\n' \"$l\" >> '{log}'; n=$((n+1)); echo \"{{\\\"id\\\": $n, \\\"reward\\\": 1.0}}\"; done",
            TimeSpan.FromSeconds(60), retries: 0);
        await Task.Run(() =>
        {
            Assert.Equal(1.0, process.Call<double>("ad>", "adda", "reward", r => r.GetDouble(), "a number"));
            Assert.Equal(1.0, process.Call<double>("ad>", "fab", "reward", r => r.GetDouble(), "a number"));
        });
        Assert.Equal(new[] { "{\"id\":1,\"prompt\":\"ad\\u003E\",\"response\":\"adda\"}", "{\"id\":2,\"prompt\":\"ad\\u003E\",\"response\":\"fab\"}" },
            File.ReadAllLines(log));
    }

    [Fact(Timeout = 120_000)]
    public async Task AReplyWithoutEnd_FailsFast_NamingTheCap()
    {
        // An endless line: a reader without a cap would fill memory until the process dies.
        var clock = Stopwatch.StartNew();
        var e = await Task.Run(() => Assert.Throws<InputException>(() => Runner.Run(Letters("read -r line; exec cat /dev/zero"))));
        Assert.Contains("verifier printed a reply line longer than the 1 MiB cap on a reply (after 0 answered calls; it was stopped)", e.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"took {clock.Elapsed}");
    }

    [Theory(Timeout = 120_000)]
    [InlineData("read -r line; cat /dev/zero >&2")]
    [InlineData("read -r line; exec cat /dev/zero >&2")] // stdout closes at once: not a crash to retry
    public async Task AStderrLineWithoutEnd_FailsFast_NamingTheCap(string command)
    {
        var e = await Task.Run(() => Assert.Throws<InputException>(() => Runner.Run(Letters(command))));
        Assert.Contains("verifier wrote a stderr line longer than the 1 MiB cap on a stderr line", e.Message);
    }

    [Fact(Timeout = 120_000)]
    public async Task AProgressBarOnStderr_IsNotALongLine()
    {
        // 1.4 MB of stderr without a newline, as a progress bar prints it: '\r' ends a line too.
        string script = _dir.Write("progress.py", """
            import json, sys
            for line in sys.stdin:
                for i in range(200000):
                    sys.stderr.write("\r%6d" % i)
                sys.stderr.flush()
                print(json.dumps({"id": json.loads(line)["id"], "reward": 0.25}), flush=True)
            """);
        using var process = new JsonLineProcess("verifier", $"python3 '{script}'", TimeSpan.FromSeconds(60), retries: 0);
        double reward = await Task.Run(() => process.Call<double>("ab>", "a", "reward", r => r.GetDouble(), "a number"));
        Assert.Equal(0.25, reward);
    }

    [Fact(Timeout = 120_000)]
    public async Task AHangBeforeTheFirstReply_ReportsTheTimeActuallyWaited()
    {
        using var process = new JsonLineProcess("verifier", "exec sleep 1000", TimeSpan.FromSeconds(0.5), retries: 0, startupGrace: TimeSpan.FromSeconds(1));
        var e = await Task.Run(() => Assert.Throws<VerifierException>(() => process.Call<double>("ab>", "a", "reward", r => r.GetDouble(), "a number")));
        var m = System.Text.RegularExpressions.Regex.Match(e.Message, @"did not answer within (\d+(\.\d+)?) s; a first reply is allowed 0\.5 s \+ 1 s of start-up");
        Assert.True(m.Success, e.Message);
        Assert.InRange(double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 1.5, 30);
    }

    [Fact(Timeout = 120_000)]
    public async Task AnEvaluationVerifierFault_StatesTheFinishedRunsCosts()
    {
        var e = await Task.Run(() => Assert.Throws<InputException>(() => Runner.Run(Letters("unused", evalSamples: "10", evalVerifier: "echo nonsense"))));
        Assert.StartsWith("evaluation: verifier replied 'nonsense', not a JSON line {\"id\": 1, \"reward\": a finite number}", e.Message);
        Assert.Matches(@"\[the run itself finished with T_data = 10, T_comp = \d+; its result is not reported without its evaluation\]$", e.Message);

        var run = await Task.Run(() => CliHarness.Invoke("run", "--task", "letters", "--algo", "passive", "--algo-param", "pairs=5", "--seed", "1",
            "--param", "eval-samples=10", "--param", "eval-verifier=echo nonsense"));
        run.AssertBadInput("an evaluation verifier that prints garbage");
        Assert.Contains("the run itself finished with T_data = 10", run.Stderr);
    }

    [Fact(Timeout = 120_000)]
    public async Task AFeatureCommand_MustEchoTheRequestId()
    {
        var run = await Task.Run(() => CliHarness.Invoke("run", "--task", "letters", "--algo", "passive", "--algo-param", "pairs=5", "--seed", "1",
            "--feature-command", "while read -r l; do echo '{\"features\": [1, 0, 0, 0, 0, 0]}'; done", "--param", "dim=6", "--param", "eval-samples=0"));
        run.AssertBadInput("a feature command without request ids");
        Assert.Contains("feature command replied without \"id\" to request 1: each reply must echo its request's id", run.Stderr);
    }
}

/// <summary>What /proc says about a process, for tests that check that no process outlives a run.</summary>
internal static class ChildProcesses
{
    /// <summary>Whether <paramref name="pid"/> still runs after a few seconds' grace for the kill to land (a zombie, dead and
    /// awaiting its parent's wait, does not count).</summary>
    public static bool StillRunning(int pid)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string? state = State(pid);
            if (state is null or "Z" or "X") return false;
            if (clock.Elapsed > TimeSpan.FromSeconds(10)) return true;
            Thread.Sleep(50);
        }
    }

    /// <summary>The process group and session of <paramref name="pid"/>.</summary>
    public static (int Group, int Session) GroupAndSession(int pid)
    {
        var fields = AfterName(File.ReadAllText($"/proc/{pid}/stat"));
        return (int.Parse(fields[2]), int.Parse(fields[3]));
    }

    private static string? State(int pid)
    {
        try { return AfterName(File.ReadAllText($"/proc/{pid}/stat"))[0]; }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException) { return null; }
    }

    // /proc/PID/stat is "pid (name) state ppid pgrp session …"; the name may hold spaces and parentheses.
    private static string[] AfterName(string stat) => stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
}
