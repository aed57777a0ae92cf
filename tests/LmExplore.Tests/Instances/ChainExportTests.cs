using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Instances;

/// <summary>
/// Regression: docs/FORMATS.md says every family can be exported and re-imported; <c>instance export</c>
/// refused the chain family ("enumerable instances only") although the autoregressive writer exists.
/// </summary>
public class ChainExportTests
{
    [Fact]
    public void ChainFamily_ExportsAndReimportsWithTheSameNumbers()
    {
        using var dir = CliHarness.TempDir();
        var file = dir.File("chain.json");
        var export = CliHarness.Invoke("instance", "export", "--instance", "chain", "--param", "horizon=6", "--seed", "3", "--out", file);
        Assert.Equal(0, export.ExitCode);
        Assert.Empty(export.Stdout);
        Assert.Contains("lmexplore.autoregressive/v1", File.ReadAllText(file));

        var fromFile = CliHarness.Invoke("instance", "inspect", file, "--json").SingleJsonObject();
        var fromFamily = CliHarness.Invoke("instance", "inspect", "chain", "--param", "horizon=6", "--seed", "3", "--json").SingleJsonObject();
        foreach (var key in new[] { "J_opt", "J_ref", "C_cov", "C_cond" })
        {
            double a = fromFile.GetProperty(key).GetDouble(), b = fromFamily.GetProperty(key).GetDouble();
            Assert.True(Math.Abs(a - b) <= 1e-12 * Math.Abs(b), $"{key}: file {a} vs family {b}");
        }
        Assert.Equal(6, fromFile.GetProperty("horizon").GetInt32());
    }
}
