using System.Diagnostics;

namespace LmExplore.Tests.Cli;

/// <summary>
/// Drives the CLI with generated arguments: a command that works, with one or two of its values replaced by hostile ones
/// (numbers out of every range, non-numbers, empty and huge strings, unknown and repeated keys, special files, paths
/// that do not exist), or an option added that does not belong. Whatever comes out, it must be the contract — exit 0,
/// 2 (one line on stderr, no stack trace) or 3 — never exit 1, never a hang, never a child process left behind.
/// The cases are drawn from a fixed seed, so a failure is reproducible from its printed arguments.
/// </summary>
[Collection(RandomizedCliCollection.Name)]
public sealed class RandomizedCliTests : IDisposable
{
    private readonly TempDirectory _dir = new("lmexplore-random-cli");

    public void Dispose() => _dir.Dispose();

    /// <summary>Commands that succeed quickly as given: the bases the generator mutates.</summary>
    private static readonly string[][] Bases =
    [
        ["run", "--instance", "needle", "--param", "ccov=100", "--param", "responses=200", "--algo", "spanner", "--seed", "1", "--budget-comp", "3000", "--json"],
        ["run", "--instance", "linear", "--param", "d=4", "--algo", "passive", "--seed", "2", "--budget-data", "60", "--json"],
        ["run", "--instance", "dnf", "--param", "n=6", "--algo", "xpo", "--seed", "3", "--budget-comp", "2000", "--json"],
        ["run", "--instance", "chain", "--param", "horizon=3", "--algo", "mtss", "--seed", "4", "--budget-tokens", "4000", "--json"],
        ["run", "--instance", "chain", "--param", "horizon=3", "--algo", "onlinedpo", "--seed", "5", "--budget-comp", "2000", "--json"],
        ["run", "--task", "letters", "--algo", "bestofn", "--algo-param", "n=2", "--param", "eval-samples=10", "--seed", "6", "--json"],
        ["run", "--task", "letters", "--algo", "passive", "--param", "eval-samples=10", "--param", "max-tokens=4", "--seed", "7", "--budget-data", "20", "--json"],
        ["instance", "inspect", "needle", "--param", "ccov=10", "--json"],
        ["instance", "inspect", "chain", "--param", "horizon=4", "--json"],
        ["frontier", "--instance", "needle", "--param", "ccov=10", "--param", "responses=50", "--algo", "spanner", "--seeds", "2", "--comp-from", "200", "--comp-to", "800", "--data-to", "64"],
        ["lm", "sample", "--model", "@ngram", "--prompt", "ab", "--n", "3", "--seed", "1"],
    ];

    /// <summary>Values that break one rule or another.</summary>
    private static readonly string[] HostileValues =
    [
        "", " ", "-1", "0", "1e400", "-1e400", "NaN", "inf", "-inf", "9223372036854775808", "18446744073709551616",
        "9000000000000000000", "2.5", "0x10", "1e9", "1,5", "abc", "=", "k=v", "１２", "\u00e9\u00e9", "\ud800",
        new string('9', 400), new string('x', 5000), "/proc/nonexistent/file", "/nonexistent/dir/file",
        "@dir", "@fifo", "@garbage", "@empty",
    ];

    /// <summary>Options that may be added to any command (some belong elsewhere, some nowhere).</summary>
    private static readonly string[] ExtraOptions =
        ["--param", "--algo-param", "--seed", "--budget-comp", "--budget-data", "--budget-tokens", "--out", "--output-samples", "--model", "--task", "--instance", "--no-such-option"];

    [Fact]
    public async Task GeneratedArguments_NeverReachExitOne_HangOrLeaveAProcess()
    {
        var files = new Dictionary<string, string>
        {
            ["@dir"] = Directory.CreateDirectory(Path.Combine(_dir.Path, "a-directory")).FullName,
            ["@garbage"] = _dir.Write("garbage.json", "{\"format\": \"lmexplore.instance/v1\", \"prompts\": [1, 2, {"),
            ["@empty"] = _dir.Write("empty.json", ""),
            ["@ngram"] = TrainedModel(),
        };
        files["@fifo"] = SpecialFiles.Fifo(Path.Combine(_dir.Path, "a-fifo"));

        var rng = new Random(20261202);
        var failures = new List<string>();
        int cases = 0;
        var exitCodes = new Dictionary<int, int>();
        var clock = Stopwatch.StartNew();
        // A fixed number of cases, stopped early only if the machine is so slow that the suite's time would suffer.
        for (; cases < 500 && clock.Elapsed < TimeSpan.FromSeconds(90); cases++)
        {
            var args = Mutate(Bases[rng.Next(Bases.Length)], rng).Select(a => files.GetValueOrDefault(a, a)).ToArray();
            string shown = string.Join(' ', args.Select(a => a.Length > 40 ? a[..40] + "…" : a));
            var children = ChildProcesses();
            var run = Task.Run(() => CliHarness.Invoke(args));
            if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) != run)
            {
                failures.Add($"hang (60 s): {shown}");
                break; // the thread cannot be stopped; report what we have
            }
            var outcome = await run;
            exitCodes[outcome.ExitCode] = exitCodes.GetValueOrDefault(outcome.ExitCode) + 1;
            if (outcome.ExitCode is not (0 or 2 or 3)) failures.Add($"exit {outcome.ExitCode}: {shown}\n  {outcome.Stderr.Trim()}");
            else if (outcome.ExitCode == 2 && (outcome.ErrorLines.Length != 1 || !outcome.ErrorLines[0].StartsWith("error: ", StringComparison.Ordinal)))
                failures.Add($"exit 2 without exactly one error line: {shown}\n  {outcome.Stderr.Trim()}");
            else if (outcome.Stderr.Contains("   at ", StringComparison.Ordinal)) failures.Add($"stack trace: {shown}");
            var left = ChildProcesses().Except(children).Where(IsAlive).ToList();
            if (left.Count > 0) failures.Add($"left {left.Count} child process(es) running: {shown}");
        }
        Assert.True(cases >= 40, $"only {cases} cases ran in the time allowed");
        // Some mutations leave a command valid (a repeated option, a value that happens to be accepted): the bases run.
        Assert.True(exitCodes.GetValueOrDefault(0) >= 5, "too few generated invocations succeeded: " + string.Join(", ", exitCodes.Select(kv => $"exit {kv.Key}: {kv.Value}")));
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} generated invocations broke the contract:\n" + string.Join("\n", failures));
    }

    /// <summary>The base with one or two values replaced by hostile ones, or an option added or repeated.</summary>
    private static List<string> Mutate(string[] command, Random rng)
    {
        var args = command.ToList();
        int mutations = 1 + rng.Next(2);
        for (int m = 0; m < mutations; m++)
        {
            // Values are the arguments after an option (index > 0 and the previous one starts with "--"), plus positionals.
            var values = Enumerable.Range(2, args.Count - 2).Where(i => !args[i].StartsWith("--", StringComparison.Ordinal)).ToList();
            string hostile = HostileValues[rng.Next(HostileValues.Length)];
            switch (rng.Next(4))
            {
                case 0 or 1 when values.Count > 0:
                {
                    int i = values[rng.Next(values.Count)];
                    // A k=v value keeps its key half the time, so the binder sees a known option with a bad value.
                    int eq = args[i].IndexOf('=');
                    args[i] = eq > 0 && rng.Next(2) == 0 ? args[i][..(eq + 1)] + hostile : hostile;
                    break;
                }
                case 2:
                    args.Add(ExtraOptions[rng.Next(ExtraOptions.Length)]);
                    args.Add(rng.Next(3) == 0 ? "colour=" + hostile : hostile);
                    break;
                default:
                {
                    int option = rng.Next(1, args.Count);
                    if (args[option].StartsWith("--", StringComparison.Ordinal) && option + 1 < args.Count)
                    {
                        args.Add(args[option]);
                        args.Add(args[option + 1]);
                    }
                    break;
                }
            }
        }
        return args;
    }

    private string TrainedModel()
    {
        string path = Path.Combine(_dir.Path, "letters.json");
        var trained = CliHarness.Invoke("lm", "train", "--corpus", "letters", "--order", "2", "--out", path);
        Assert.Equal(0, trained.ExitCode);
        return path;
    }

    /// <summary>Processes whose parent is this test host (verifiers and feature commands would be among them).</summary>
    private static HashSet<int> ChildProcesses()
    {
        int self = Environment.ProcessId;
        var children = new HashSet<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.TryParse(fields[1], out int parent) && parent == self) children.Add(pid);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return children;
    }

    /// <summary>Running (not a zombie awaiting its reaper), after a moment's grace for a process that is exiting.</summary>
    private static bool IsAlive(int pid)
    {
        for (int attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                string stat = File.ReadAllText($"/proc/{pid}/stat");
                if (stat[(stat.LastIndexOf(')') + 2)] == 'Z') return false;
            }
            catch (IOException) { return false; }
            Thread.Sleep(50);
        }
        return true;
    }
}

/// <summary>Runs <see cref="RandomizedCliTests"/> alone: it counts the test host's child processes, which other tests
/// running beside it would start too.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RandomizedCliCollection
{
    public const string Name = "randomized CLI, alone";
}
