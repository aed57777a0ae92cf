using LmExplore.Cli;

namespace LmExplore.Tests.Cli;

/// <summary>Inputs shared by the output tests: a results file, a finished one-run sweep and its config.</summary>
public sealed class OutputTargetFixture : IDisposable
{
    private readonly TempDir _dir = CliHarness.TempDir();

    public OutputTargetFixture()
    {
        Results = _dir.File("results.jsonl");
        var run = CliHarness.Invoke(CliHarness.Fake(), "run", "--instance", "needle", "--algo", "passive", "--seed", "1", "--out", Results);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Config = _dir.Write("sweep.json", """
            { "format": "lmexplore.sweep/v1", "name": "tiny", "instance": "needle",
              "instanceParams": { "prompts": 2, "responses": 50 },
              "algorithms": [{ "name": "passive", "budgetData": 10 }], "seeds": 1 }
            """);
        SweepDir = _dir.File("sweep");
        var sweep = CliHarness.Invoke("sweep", "--config", Config, "--out", SweepDir);
        Assert.True(sweep.ExitCode == 0, sweep.Stderr);
    }

    /// <summary>Lines of <c>run --out</c>.</summary>
    public string Results { get; }
    /// <summary>A one-run sweep config.</summary>
    public string Config { get; }
    /// <summary>That sweep, finished.</summary>
    public string SweepDir { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// Outputs are regular files only (docs/CLI.md, "Output and input files"): every command that writes refuses a FIFO, a
/// character device, a directory or a path in /proc before any work, with exit 2 and one line, leaving the target as it
/// was (a FIFO is never opened: the tests would hang); a symbolic link is written through to its final target and stays
/// a link; a dangling link creates its target.
/// </summary>
public class OutputTargetTests(OutputTargetFixture inputs) : IClassFixture<OutputTargetFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(120);

    /// <summary>Every command with a file output.</summary>
    public static TheoryData<string> FileCommands => new() { "run", "output-samples", "lm train", "lm tiny-gguf", "instance export", "export", "report", "frontier", "merge" };

    /// <summary>Every command with a directory output.</summary>
    public static TheoryData<string> DirectoryCommands => new() { "sweep", "reproduce" };

    public static TheoryData<string, string> FileCommandsAndRefusedTargets()
    {
        var data = new TheoryData<string, string>();
        foreach (var command in FileCommands)
            foreach (var kind in new[] { "fifo", "dir", "link-to-fifo", "link-to-dir", "proc" })
                data.Add(command, kind);
        return data;
    }

    public static TheoryData<string, string> DirectoryCommandsAndRefusedTargets()
    {
        var data = new TheoryData<string, string>();
        foreach (var command in DirectoryCommands)
            foreach (var kind in new[] { "fifo", "file", "link-to-file", "link-to-fifo", "proc", "under-file" })
                data.Add(command, kind);
        return data;
    }

    /// <summary>The arguments of <paramref name="command"/> writing to <paramref name="target"/>.</summary>
    private string[] Args(string command, string target) => command switch
    {
        "run" => ["run", "--instance", "needle", "--param", "responses=50", "--algo", "passive", "--seed", "1", "--budget-data", "10", "--out", target],
        "output-samples" => ["run", "--instance", "needle", "--param", "prompts=2", "responses=50", "--algo", "passive", "--seed", "1", "--budget-data", "10",
            "--output-samples", "3", "--output-samples-file", target],
        "lm train" => ["lm", "train", "--corpus", "letters", "--order", "2", "--out", target],
        "lm tiny-gguf" => ["lm", "tiny-gguf", "--out", target],
        "instance export" => ["instance", "export", "--instance", "needle", "--param", "responses=50", "--seed", "1", "--out", target],
        "export" => ["export", inputs.Results, "--out", target],
        "report" => ["report", inputs.Results, "--out", target],
        "frontier" => ["frontier", "--instance", "needle", "--param", "prompts=2", "responses=50", "--algo", "passive", "--seeds", "2",
            "--comp-to", "32", "--data-to", "8", "--parallel", "1", "--out", target],
        "merge" => ["merge", "--out", target, inputs.SweepDir],
        "sweep" => ["sweep", "--config", inputs.Config, "--out", target],
        "reproduce" => ["reproduce", "--quick", "--only", "E1", "--out", target],
        _ => throw new ArgumentException(command),
    };

    /// <summary>A directory with one of each kind of target: fifo, dir (empty), file ("precious"), links to each, a dangling link.</summary>
    private sealed class Targets : IDisposable
    {
        private readonly TempDir _dir = CliHarness.TempDir();

        public Targets(bool withCharacterDevice = false)
        {
            Fifo = SpecialFiles.Fifo(_dir.File("fifo"));
            Directory.CreateDirectory(_dir.File("dir"));
            _dir.Write("file", "precious\n");
            System.IO.File.CreateSymbolicLink(_dir.File("link-to-file"), "file");
            System.IO.File.CreateSymbolicLink(_dir.File("link-to-fifo"), "fifo");
            System.IO.File.CreateSymbolicLink(_dir.File("link-to-dir"), "dir");
            System.IO.File.CreateSymbolicLink(_dir.File("dangling"), "created.out");
            if (withCharacterDevice) SpecialFiles.CharacterDevice(_dir.File("chr"));
            Before = Snapshot();
        }

        public string Fifo { get; }
        public string Before { get; }

        public string Path(string kind) => kind switch
        {
            "proc" => "/proc/nonexistent/x",
            "under-file" => _dir.File("file/sub"),
            _ => _dir.File(kind),
        };

        public string File(string name) => _dir.File(name);

        /// <summary>Every entry with its kind, and the file's content: equal before and after a refusal.</summary>
        public string Snapshot() => string.Join("\n", Directory.GetFileSystemEntries(_dir.Path).Order(StringComparer.Ordinal)
            .Select(e => $"{System.IO.Path.GetFileName(e)}:{SpecialFiles.KindOf(e)}" + (SpecialFiles.KindOf(e) == "dir" ? $"({Directory.GetFileSystemEntries(e).Length})" : "")))
            + "\n" + System.IO.File.ReadAllText(_dir.File("file"));

        public void Dispose() => _dir.Dispose();
    }

    private CliOutcome Invoke(string command, string target, Targets targets, bool[]? ran = null)
    {
        // run's fake runner records whether the run started: a refused output must not let it start.
        RunFunc? runner = command == "run" ? (request, progress, ct) =>
        {
            if (ran is not null) ran[0] = true;
            return CliHarness.Fake()(request, progress, ct);
        } : null;
        return SpecialFiles.InvokeBounded(runner, Args(command, target), Bound, targets.Fifo);
    }

    [Theory]
    [MemberData(nameof(FileCommandsAndRefusedTargets))]
    public void FileOutput_ThatIsNotARegularFile_IsRefusedBeforeAnyWork_AndLeftUntouched(string command, string kind)
    {
        using var targets = new Targets();
        var ran = new bool[1];
        var outcome = Invoke(command, targets.Path(kind), targets, ran);
        outcome.AssertBadInput($"{command} --out {kind}");
        Assert.Contains(kind == "proc" ? "/proc/nonexistent" : targets.Path(kind), outcome.Stderr);
        if (kind.Contains("fifo")) Assert.Contains("FIFO", outcome.Stderr);
        if (kind.Contains("dir")) Assert.Contains("is a directory", outcome.Stderr);
        Assert.Equal(targets.Before, targets.Snapshot()); // nothing replaced, no temporary file left
        Assert.False(ran[0], "the run started although its output was refused");
    }

    [RootTheory]
    [MemberData(nameof(FileCommands))]
    public void FileOutput_ThatIsACharacterDevice_IsRefused_AndStaysADevice(string command)
    {
        using var targets = new Targets(withCharacterDevice: true);
        var outcome = Invoke(command, targets.Path("chr"), targets);
        outcome.AssertBadInput($"{command} --out a character device");
        Assert.Contains("character device", outcome.Stderr);
        Assert.Equal(targets.Before, targets.Snapshot());
        Assert.Equal("chr", SpecialFiles.KindOf(targets.Path("chr")));
    }

    [Theory]
    [MemberData(nameof(FileCommands))]
    public void FileOutput_ThroughASymbolicLink_ReplacesItsTarget_AndTheLinkStays(string command)
    {
        using var targets = new Targets();
        var outcome = Invoke(command, targets.Path("link-to-file"), targets);
        Assert.True(outcome.ExitCode == 0, $"{command}: exit {outcome.ExitCode}: {outcome.Stderr}");
        Assert.Equal("link", SpecialFiles.KindOf(targets.Path("link-to-file")));
        Assert.Equal("file", new FileInfo(targets.Path("link-to-file")).LinkTarget);
        Assert.Equal("file", SpecialFiles.KindOf(targets.File("file")));
        string written = File.ReadAllText(targets.File("file"));
        if (command == "run") Assert.StartsWith("precious\n{\"instance\"", written); // run --out appends
        else Assert.DoesNotContain("precious", written);
        Assert.Empty(Directory.GetFiles(targets.File("."), "*.tmp")); // the temporary file went next to the target and was renamed
    }

    [Theory]
    [MemberData(nameof(FileCommands))]
    public void FileOutput_ThroughADanglingLink_CreatesItsTarget(string command)
    {
        using var targets = new Targets();
        var outcome = Invoke(command, targets.Path("dangling"), targets);
        Assert.True(outcome.ExitCode == 0, $"{command}: exit {outcome.ExitCode}: {outcome.Stderr}");
        Assert.Equal("link", SpecialFiles.KindOf(targets.Path("dangling")));
        Assert.Equal("file", SpecialFiles.KindOf(targets.File("created.out")));
        Assert.True(new FileInfo(targets.File("created.out")).Length > 0);
    }

    [Theory]
    [MemberData(nameof(DirectoryCommandsAndRefusedTargets))]
    public void DirectoryOutput_ThatIsNotADirectory_IsRefusedBeforeAnyWork(string command, string kind)
    {
        using var targets = new Targets();
        var outcome = Invoke(command, targets.Path(kind), targets);
        outcome.AssertBadInput($"{command} --out {kind}"); // one line: reproduce did not even announce its plan
        Assert.Contains("--out", outcome.Stderr);
        Assert.Equal(targets.Before, targets.Snapshot());
    }

    [RootTheory]
    [MemberData(nameof(DirectoryCommands))]
    public void DirectoryOutput_ThatIsACharacterDevice_IsRefused(string command)
    {
        using var targets = new Targets(withCharacterDevice: true);
        var outcome = Invoke(command, targets.Path("chr"), targets);
        outcome.AssertBadInput($"{command} --out a character device");
        Assert.Contains("character device, not a directory", outcome.Stderr);
        Assert.Equal(targets.Before, targets.Snapshot());
    }

    [Fact]
    public void Sweep_IntoADanglingLink_CreatesTheDirectoryItNames_AndThroughALinkToADirectory_Writes()
    {
        using var targets = new Targets();
        var created = Invoke("sweep", targets.Path("dangling"), targets);
        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.Equal("link", SpecialFiles.KindOf(targets.Path("dangling")));
        Assert.True(File.Exists(targets.File("created.out/results.jsonl")));

        var through = Invoke("sweep", targets.Path("link-to-dir"), targets);
        Assert.True(through.ExitCode == 0, through.Stderr);
        Assert.True(File.Exists(targets.File("dir/results.jsonl")));
    }

    [Fact]
    public void Sweep_WhoseResultsFileIsAFifo_IsRefused()
    {
        using var dir = CliHarness.TempDir();
        Directory.CreateDirectory(dir.File("out"));
        var fifo = SpecialFiles.Fifo(dir.File("out/results.jsonl"));
        var outcome = SpecialFiles.InvokeBounded(null, ["sweep", "--config", inputs.Config, "--out", dir.File("out")], Bound, fifo);
        outcome.AssertBadInput("a FIFO as the sweep's results file");
        Assert.Contains("results file", outcome.Stderr);
        Assert.Equal("fifo", SpecialFiles.KindOf(fifo));
    }

    [Fact]
    public void Merge_IntoADirectory_IsExit2_AndIntoAMissingDirectory_CreatesIt()
    {
        using var dir = CliHarness.TempDir();
        CliHarness.Invoke("merge", "--out", dir.Path, inputs.SweepDir).AssertBadInput("merge --out DIR");
        var merged = CliHarness.Invoke("merge", "--out", dir.File("new/all.jsonl"), inputs.SweepDir);
        Assert.True(merged.ExitCode == 0, merged.Stderr);
        Assert.True(File.Exists(dir.File("new/all.jsonl")));
    }

    [Fact]
    public void Outputs_ThroughASymbolicLinkLoop_AreRefused()
    {
        using var dir = CliHarness.TempDir();
        File.CreateSymbolicLink(dir.File("a"), "b");
        File.CreateSymbolicLink(dir.File("b"), "a");
        var outcome = CliHarness.Invoke("instance", "export", "--instance", "needle", "--param", "responses=50", "--seed", "1", "--out", dir.File("a"));
        outcome.AssertBadInput("a link loop");
        Assert.Contains("loop", outcome.Stderr);
    }

    [Fact]
    public void Outputs_ThatAreSockets_AreRefused()
    {
        using var dir = CliHarness.TempDir();
        using var socket = SpecialFiles.Socket(dir.File("sock"));
        var outcome = CliHarness.Invoke("lm", "tiny-gguf", "--out", dir.File("sock"));
        outcome.AssertBadInput("a socket as --out");
        Assert.Contains("socket", outcome.Stderr);
    }

    [Fact]
    public void Frontier_RefusesItsOutput_BeforeTheScan()
    {
        // A scan of every budget up to 1e9 over 10 seeds would take minutes; the refusal is immediate and prints no scan line.
        using var targets = new Targets();
        var outcome = SpecialFiles.InvokeBounded(null, ["frontier", "--instance", "needle", "--algo", "spanner", "--out", targets.Path("dir")], Bound, targets.Fifo);
        outcome.AssertBadInput("frontier --out DIR");
        Assert.DoesNotContain("budget", outcome.Stderr);
    }
}
