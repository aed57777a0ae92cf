using LmExplore.Runs;
using LmExplore.Experiments;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels.Text;

/// <summary>
/// An external verifier that misbehaves — hangs, crashes, prints garbage, is slow — ends the run with a clear error or
/// with correct retries, and T_data always equals the verifier's own count of the calls it answered (the script appends
/// a line to a counter file just before each reply).
/// </summary>
public class VerifierFaultTests : IDisposable
{
    private const string Script = """
        import json, os, sys, time
        counter, mode = sys.argv[1], sys.argv[2]
        def answered():
            return sum(1 for _ in open(counter)) if os.path.exists(counter) else 0
        for line in sys.stdin:
            req = json.loads(line)
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
            if mode == "slow":
                time.sleep(0.02)
            prompt, response = req["prompt"], req["response"]
            allowed = prompt.split(">")[0]
            r = sum(c in allowed for c in response) / len(response) if response else 0.0
            with open(counter, "a") as f:
                f.write("1\n")
            print(json.dumps({"reward": r}), flush=True)
        """;

    private readonly TempDirectory _dir = new("verifier");
    private readonly string _script;

    public VerifierFaultTests() => _script = _dir.Write("verifier.py", Script);

    public void Dispose() => _dir.Dispose();

    private (string Command, string Counter) Verifier(string mode)
    {
        string counter = Path.Combine(_dir.Path, mode + ".count");
        return ($"python3 '{_script}' '{counter}' {mode}", counter);
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
}
