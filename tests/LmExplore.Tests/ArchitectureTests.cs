using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace LmExplore.Tests;

/// <summary>
/// The layering docs/ARCHITECTURE.md draws, checked on the source: inside the core a namespace uses only the
/// namespaces below it; the core carries no native, HTTP or file-format package; the assemblies reference one another
/// one way only.
/// </summary>
public sealed partial class ArchitectureTests
{
    /// <summary>The core's namespaces, lowest first: each may use only those before it.</summary>
    private static readonly string[] CoreOrder =
        ["Numerics", "Instances", "Oracles", "Policies", "Evaluation", "Algorithms", "Runs"];

    [Fact]
    public void CoreNamespaces_DependOnlyDownward()
    {
        var problems = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepoRoot(), "src", "LmExplore"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
            string text = File.ReadAllText(file);
            var ns = NamespaceLine().Match(text);
            if (!ns.Success) continue;
            string own = ns.Groups[1].Value;
            int rank = Array.IndexOf(CoreOrder, own);
            if (own.Length == 0) rank = -1; // the root namespace (InputException, OptionReader) is below everything
            string code = DocComment().Replace(text, "");
            foreach (Match m in UsedNamespace().Matches(code))
            {
                string used = m.Groups[1].Value.Length > 0 ? m.Groups[1].Value : m.Groups[2].Value;
                int usedRank = Array.IndexOf(CoreOrder, used);
                if (usedRank < 0) { problems.Add($"{Path.GetFileName(file)}: uses LmExplore.{used}, which is not a core namespace"); continue; }
                if (used != own && usedRank > rank) problems.Add($"{Path.GetFileName(file)} (LmExplore.{own}) uses LmExplore.{used}, a layer above it");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems.Distinct()));
    }

    [Fact]
    public void Assemblies_ReferenceOneWay_AndTheCoreCarriesNoNativeOrFormatPackage()
    {
        var core = Project("LmExplore");
        Assert.Equal(["System.Numerics.Tensors"], core.Packages);
        Assert.Empty(core.Projects);
        Assert.Equal(["LmExplore"], Project("LmExplore.LanguageModels").Projects);
        Assert.Equal(["LmExplore", "LmExplore.LanguageModels"], Project("LmExplore.Experiments").Projects);
        Assert.Contains("LLamaSharp", Project("LmExplore.LanguageModels").Packages);
        Assert.Contains("Parquet.Net", Project("LmExplore.Experiments").Packages);
    }

    private static (string[] Packages, string[] Projects) Project(string name)
    {
        var xml = XDocument.Load(Path.Combine(RepoRoot(), "src", name, name + ".csproj"));
        return (xml.Descendants("PackageReference").Select(e => (string)e.Attribute("Include")!).Order().ToArray(),
            xml.Descendants("ProjectReference").Select(e => Path.GetFileNameWithoutExtension((string)e.Attribute("Include")!)).Order().ToArray());
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LmExplore.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (LmExplore.sln) not found");
    }

    [GeneratedRegex(@"^namespace LmExplore\.?(\w*)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"///.*|//.*")]
    private static partial Regex DocComment();

    /// <summary>A <c>using LmExplore.X;</c> line, or a qualified <c>X.Type</c> / <c>LmExplore.X.Type</c> in code.</summary>
    [GeneratedRegex(@"^using LmExplore\.(\w+)[\w.]*;|(?:LmExplore\.|(?<![\w.]))(Numerics|Instances|Oracles|Policies|Evaluation|Algorithms|Runs|LanguageModels|Text|Experiments|Figures)\.[A-Z]\w*", RegexOptions.Multiline)]
    private static partial Regex UsedNamespace();
}
