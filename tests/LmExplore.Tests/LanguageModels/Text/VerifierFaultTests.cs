using LmExplore.Runs;
using LmExplore.Experiments;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels.Text;

/// <summary>
/// An external verifier that misbehaves — hangs, crashes, prints garbage, is slow, answers out of order, spells a key
/// wrong — ends the run with a clear error or with correct retries, and T_data always equals the verifier's own count of
/// the calls it answered (the script appends a line to a counter file just before each reply). The script also checks
/// the request ids: the n-th request a process receives carries id n.
/// </summary>
public class VerifierFaultTests : IDisposable
{
    private const string Script = """
        import json, os, subprocess, sys, time
        counter, mode = sys.argv[1], sys.argv[2]
        if len(sys.argv) > 3:
            # a grandchild, left running on purpose: it must end with the run (its pid goes to the file named)
            child = subprocess.Popen(["sleep", "1000"])
            with open(sys.argv[3], "a") as f:
                f.write(f"{child.pid}\n")
        def answered():
            return sum(1 for _ in open(counter)) if os.path.exists(counter) else 0
        expected = 0
        for line in sys.stdin:
            req = json.loads(line)
            expected += 1
            if req["id"] != expected:
                sys.stderr.write(f"request id {req['id']}, expected {expected}\n")
                sys.exit(9)
            n = answered()
            if n == 4:
                if mode == "hang":
                    time.sleep(1000)
                if mode == "crash":
                    sys.exit(3)
                if mode == "crash-once" and not os.path.exists(counter + ".crashed"):
                    open(counter + ".crashed", "w").close()
                    sys.stderr.write("simulated crash\n")
                    sys.exit(3)
                if mode == "garbage":
                    print("oops, not json", flush=True)
                    continue
                if mode == "ahead":
                    print(json.dumps({"id": req["id"] + 1, "reward": 0.0}), flush=True)
                    continue
                if mode == "extra":
                    print(json.dumps({"id": req["id"], "reward": 0.0}), flush=True) # a second reply to one request
                if mode == "noid":
                    print(json.dumps({"reward": 0.0}), flush=True)
                    continue
                if mode == "duplicate":
                    print('{"id": %d, "reward": 1, "reward": 0}' % req["id"], flush=True)
                    continue
                if mode == "misspelt":
                    print(json.dumps({"id": req["id"], "rewrad": 1.0}), flush=True)
                    continue
                if mode == "extrakey":
                    print(json.dumps({"id": req["id"], "reward": 1.0, "note": "x"}), flush=True)
                    continue
            if mode == "slow":
                time.sleep(0.02)
            prompt, response = req["prompt"], req["response"]
            allowed = prompt.split(">")[0]
            r = sum(c in allowed for c in response) / len(response) if response else 0.0
            with open(counter, "a") as f:
                f.write("1\n")
            print(json.dumps({"id": req["id"], "reward": r}), flush=True)
        """;

    private readonly TempDirectory _dir = new("verifier");
    private readonly string _script;

    public VerifierFaultTests() => _script = _dir.Write("verifier.py", Script);

    public void Dispose() => _dir.Dispose();

    private (string Command, string Counter) Verifier(string mode, string? pids = null)
    {
        string counter = Path.Combine(_dir.Path, mode + ".count");
        return ($"python3 '{_script}' '{counter}' {mode}{(pids is null ? "" : $" '{pids}'")}", counter);
    }

    private static long Answered(string counter) => File.Exists(counter) ? File.ReadAllLines(counter).Length : 0;

    private static RunRequest Request(string command, string timeout = "60") => new(
        "text:letters",
        new Dictionary<string, string> { ["verifier"] = command, ["eval-samples"] = "0", ["verifier-timeout"] = timeout },
        "passive", new Dictionary<string, string> { ["pairs"] = "10" }, Seed: 1);

    [Theory]
    [InlineData("ok")]
    [InlineData("slow")]
    public void AWorkingVerifier_IsCountedExactly(string mode)
    {
        var (command, counter) = Verifier(mode);
        var result = Runner.Run(Request(command));
        Assert.Equal("ok", result.Status);
        Assert.Equal(20, result.TData);
        Assert.Equal(Answered(counter), result.TData);
        Assert.Equal(0, result.Diagnostics["verifier_restarts"]);
    }

    [Fact]
    public void ACrashIsRetriedOnARestartedVerifier_AndCountedOnce()
    {
        var (command, counter) = Verifier("crash-once");
        var result = Runner.Run(Request(command));
        Assert.Equal(20, result.TData);
        Assert.Equal(Answered(counter), result.TData);
        Assert.Equal(1, result.Diagnostics["verifier_restarts"]);
    }

    [Fact]
    public void AVerifierThatKeepsCrashing_StopsTheRun()
    {
        var (command, counter) = Verifier("crash");
        var e = Assert.Throws<InputException>(() => Runner.Run(Request(command)));
        Assert.Contains("crashed 3 time(s)", e.Message);
        Assert.Contains("exit code 3", e.Message);
        Assert.Contains("T_data = 4", e.Message);
        Assert.Equal(4, Answered(counter));
    }

    [Fact]
    public void AHang_TimesOut_AndStopsTheRun()
    {
        var (command, counter) = Verifier("hang");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<InputException>(() => Runner.Run(Request(command, timeout: "3")));
        Assert.True(clock.Elapsed.TotalSeconds < 20);
        Assert.Matches(@"did not answer within [3-9](\.\d+)? s", e.Message); // the time actually waited, startup grace included
        Assert.Contains("T_data = 4", e.Message);
        Assert.Equal(4, Answered(counter));
    }

    [Fact]
    public void Garbage_StopsTheRun_QuotingTheReply()
    {
        var (command, counter) = Verifier("garbage");
        var e = Assert.Throws<InputException>(() => Runner.Run(Request(command)));
        Assert.Contains("'oops, not json'", e.Message);
        Assert.Contains("T_data = 4", e.Message);
        Assert.Equal(4, Answered(counter));
    }

    [Fact]
    public void ACommandThatDoesNotExist_IsAClearError()
    {
        var e = Assert.Throws<InputException>(() => Runner.Run(Request("/nonexistent/verifier-binary")));
        Assert.Contains("crashed", e.Message);
        Assert.Contains("exit code 127", e.Message);
    }

    [Theory]
    [InlineData("ahead", "replied to request 6 while 5 was asked: a verifier must answer each request in order", 4)]
    [InlineData("extra", "replied to request 5 while 6 was asked: a verifier must answer each request in order", 5)]
    [InlineData("noid", "replied without \"id\" to request 5", 4)]
    [InlineData("duplicate", "replied with the key 'reward' twice", 4)]
    [InlineData("misspelt", "replied with the unknown key 'rewrad' (a reply holds exactly \"id\" and \"reward\")", 4)]
    [InlineData("extrakey", "replied with the unknown key 'note'", 4)]
    public void AReplyOutOfStep_OrWithAWrongKey_StopsTheRun_NamingWhatIsWrong(string mode, string expected, long tData)
    {
        var (command, counter) = Verifier(mode);
        var e = Assert.Throws<InputException>(() => Runner.Run(Request(command)));
        Assert.Contains(expected, e.Message);
        Assert.Contains($"T_data = {tData}", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        if (mode != "extra") Assert.Equal(tData, Answered(counter)); // "extra" may have counted the call it never got to answer
    }

    [Fact]
    public void AReplyOutOfStep_IsOneLineAndExitTwo_ThroughTheCli()
    {
        var (command, _) = Verifier("ahead");
        var run = Cli.CliHarness.Invoke("run", "--task", "letters", "--algo", "passive", "--algo-param", "pairs=10", "--seed", "1",
            "--verifier", command, "--param", "eval-samples=0", "--param", "verifier-timeout=60");
        run.AssertBadInput("a verifier that answers ahead");
        Assert.Contains("replied to request 6 while 5 was asked", run.Stderr);
    }

    [Theory(Timeout = 180_000)]
    [InlineData("ok")]
    [InlineData("garbage")]
    [InlineData("hang")]
    [InlineData("crash")]
    [InlineData("crash-once")]
    public async Task AGrandchildOfTheVerifier_EndsWithTheRun_WhateverTheOutcome(string mode)
    {
        string pids = Path.Combine(_dir.Path, mode + ".pids");
        var (command, _) = Verifier(mode, pids);
        await Task.Run(() =>
        {
            try { Runner.Run(Request(command, timeout: "3")); }
            catch (InputException) { Assert.NotEqual("ok", mode); }
        });
        var started = File.ReadAllLines(pids).Select(int.Parse).ToList();
        Assert.Equal(mode.StartsWith("crash", StringComparison.Ordinal) ? (mode == "crash" ? 3 : 2) : 1, started.Count); // one per (re)start
        foreach (int pid in started) Assert.False(ChildProcesses.StillRunning(pid), $"grandchild {pid} of a '{mode}' verifier outlived the run");
    }

    [Fact(Timeout = 120_000)]
    public async Task AShellBackgroundJob_EndsWithTheRun_AndTheVerifierLeadsItsOwnGroup()
    {
        string pids = Path.Combine(_dir.Path, "background.pids");
        var (command, _) = Verifier("ok");
        var verifier = new JsonLineProcess("verifier", $"sleep 1000 & echo $! >> '{pids}'; {command}", TimeSpan.FromSeconds(60), retries: 0);
        await Task.Run(() =>
        {
            Assert.Equal(0.5, verifier.Call<double>("ab>", "ac", "reward", r => r.GetDouble(), "a number"));
            int leader = verifier.ProcessId!.Value;
            var (group, session) = ChildProcesses.GroupAndSession(leader);
            Assert.Equal(leader, group);
            Assert.Equal(leader, session);
            verifier.Dispose();
            Assert.Null(verifier.ProcessId);
        });
        int pid = int.Parse(File.ReadAllLines(pids).Single());
        Assert.False(ChildProcesses.StillRunning(pid), $"background job {pid} outlived the verifier");
    }
}
