using System.Text.RegularExpressions;

namespace LmExplore.Tests.Cli;

/// <summary>
/// The README's tour must work verbatim: every <c>./lmexplore</c> line of its first bash block runs here through the
/// CLI harness, in order, in a fresh directory, and must exit 0 — except lines whose comment starts with
/// <c># slow</c> (kept few: at most two).
/// </summary>
public class ReadmeTourTests
{
    /// <summary>The marker of a line the test skips because it takes minutes.</summary>
    public const string SlowMarker = "# slow";

    [Fact]
    public void EveryTourLine_RunsAndExitsZero()
    {
        var repo = RepoRoot();
        var lines = TourLines(File.ReadAllText(Path.Combine(repo, "README.md")));
        var slow = lines.Where(l => l.Slow).ToList();
        var fast = lines.Where(l => !l.Slow).ToList();
        Assert.True(fast.Count >= 10, $"the tour should have at least 10 runnable lines, found {fast.Count}");
        Assert.True(slow.Count <= 2, $"at most two tour lines may be marked '{SlowMarker}', found {slow.Count}");

        using var dir = CliHarness.TempDir();
        foreach (var line in fast)
        {
            var args = line.Args.Select(a => Localize(a, repo, dir.Path)).ToArray();
            var outcome = CliHarness.Invoke(args);
            Assert.True(outcome.ExitCode == 0, $"README tour line exited {outcome.ExitCode}: {line.Text}\nstderr: {outcome.Stderr}");
        }
        // The merge line reads what the shard lines wrote, and it is the unsharded sweep, run for run.
        var merged = File.ReadAllLines(Path.Combine(dir.Path, "out", "all.jsonl"));
        var unsharded = File.ReadAllLines(Path.Combine(dir.Path, "out", "sweep", "results.jsonl"));
        Assert.Equal(unsharded.Length, merged.Length);
        Assert.True(File.Exists(Path.Combine(dir.Path, "out", "runs.csv")));
    }

    [Fact]
    public void ClusterDoc_ShowsTheSbatchFileThatSlurmCheckSubmits_Verbatim()
    {
        var repo = RepoRoot();
        var sbatch = File.ReadAllText(Path.Combine(repo, "scripts", "sweep.sbatch"));
        var doc = File.ReadAllText(Path.Combine(repo, "docs", "CLUSTER.md"));
        Assert.Contains("```bash\n" + sbatch + "```", doc);
        var check = File.ReadAllText(Path.Combine(repo, "scripts", "slurm-check.sh"));
        Assert.Contains("scripts/sweep.sbatch", check);
        Assert.Contains("examples/sweep.json", check);
    }

    [Fact]
    public void TourParser_FindsCommandsStripsCommentsAndRecognizesSlowLines()
    {
        const string readme = """
            # x
            ## A short tour
            text
            ```bash
            # a comment line
            ./lmexplore run --seed 1    # a comment
            ./lmexplore reproduce --out out/full   # slow: minutes
            echo not ours
            ```
            ```bash
            ./lmexplore not-in-the-first-block
            ```
            """;
        var lines = TourLines(readme);
        Assert.Equal(2, lines.Count);
        Assert.Equal(["run", "--seed", "1"], lines[0].Args);
        Assert.False(lines[0].Slow);
        Assert.True(lines[1].Slow);
    }

    internal sealed record TourLine(string Text, string[] Args, bool Slow);

    /// <summary>The <c>./lmexplore</c> lines of the first bash block after the "A short tour" heading.</summary>
    internal static List<TourLine> TourLines(string readme)
    {
        int heading = readme.IndexOf("## A short tour", StringComparison.Ordinal);
        Assert.True(heading >= 0, "README has no '## A short tour' section");
        int start = readme.IndexOf("```bash", heading, StringComparison.Ordinal);
        Assert.True(start >= 0, "the tour has no ```bash block");
        start = readme.IndexOf('\n', start) + 1;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        var result = new List<TourLine>();
        foreach (var raw in readme[start..end].Split('\n'))
        {
            var text = raw.Trim();
            if (!text.StartsWith("./lmexplore ", StringComparison.Ordinal)) continue;
            var match = Regex.Match(text, @"\s#");
            string command = match.Success ? text[..match.Index] : text;
            string comment = match.Success ? text[(match.Index + 1)..] : "";
            Assert.True(command.IndexOfAny(['"', '\'', '*', '$', '[', '|', '>', '<']) < 0,
                $"a tour line must be plain words (no quotes, globs, variables or pipes) so that it runs the same here and in a shell: {text}");
            var args = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            result.Add(new TourLine(text, args, comment.StartsWith(SlowMarker, StringComparison.Ordinal)));
        }
        return result;
    }

    /// <summary>Relative file arguments: <c>examples/…</c> is the repository's; everything else goes to the test's directory.</summary>
    private static string Localize(string arg, string repo, string dir)
    {
        if (arg.StartsWith('-') || Regex.IsMatch(arg, @"^\d+/\d+$")) return arg; // flags, --shard i/n
        if (arg.StartsWith("examples/", StringComparison.Ordinal)) return Path.Combine(repo, arg);
        bool pathLike = arg.Contains('/') || Regex.IsMatch(arg, @"\.(json|jsonl|csv|html)$");
        return pathLike ? Path.Combine(dir, arg) : arg;
    }

    private static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "LmExplore.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root (LmExplore.sln) not found");
    }
}
