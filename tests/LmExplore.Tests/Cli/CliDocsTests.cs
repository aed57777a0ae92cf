using System.CommandLine;
using System.Text.RegularExpressions;
using LmExplore.Cli;

namespace LmExplore.Tests.Cli;

/// <summary>docs/CLI.md documents what the CLI implements: every command, every option, every field of the run result.</summary>
public class CliDocsTests
{
    private static string CliDoc()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "LmExplore.sln"))) d = d.Parent;
        Assert.NotNull(d);
        return File.ReadAllText(Path.Combine(d.FullName, "docs", "CLI.md")).ReplaceLineEndings("\n");
    }

    /// <summary>Every command without subcommands, with its path (e.g. "instance export").</summary>
    private static IEnumerable<(string Path, Command Command)> Leaves(Command command, string prefix)
    {
        foreach (var sub in command.Subcommands)
        {
            string path = prefix.Length == 0 ? sub.Name : prefix + " " + sub.Name;
            if (sub.Subcommands.Count == 0) yield return (path, sub);
            else foreach (var leaf in Leaves(sub, path)) yield return leaf;
        }
    }

    [Fact]
    public void EveryCommandHasASection_ThatNamesEachOfItsOptions()
    {
        var doc = CliDoc();
        var root = CliApp.BuildRoot(new CliContext { Out = TextWriter.Null, Error = TextWriter.Null });
        var leaves = Leaves(root, "").ToList();
        Assert.Contains(leaves, l => l.Path == "export"); // the walk reaches the commands
        foreach (var (path, command) in leaves)
        {
            string heading = $"\n## `{path}`\n";
            int start = doc.IndexOf(heading, StringComparison.Ordinal);
            Assert.True(start >= 0, $"docs/CLI.md has no section '## `{path}`'");
            int end = doc.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
            string section = end < 0 ? doc[start..] : doc[start..end];
            foreach (var option in command.Options.Where(o => o.Name is not ("--help" or "--version")))
                Assert.True(Regex.IsMatch(section, Regex.Escape(option.Name) + @"(?![\w-])"), $"docs/CLI.md, section '{path}', does not mention {option.Name}");
        }
    }

    [Fact]
    public void EveryFieldOfTheRunResult_IsInTheResultTable()
    {
        var doc = CliDoc();
        var run = CliHarness.Invoke(CliHarness.Fake(), "run", "--instance", "needle", "--algo", "spanner", "--seed", "1", "--json");
        var fields = run.SingleJsonObject().EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("T_comp", fields);
        foreach (var field in fields)
            Assert.True(doc.Contains($"| `{field}` |", StringComparison.Ordinal), $"docs/CLI.md's result table has no row for '{field}'");
    }
}
