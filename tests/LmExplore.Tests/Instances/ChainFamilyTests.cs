using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;

namespace LmExplore.Tests.Instances;

public sealed class ChainFamilyTests
{
    private static Dictionary<string, string> P(params string[] kv) => kv.Select(s => s.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);

    [Fact]
    public void DeterministicFromParamsAndSeed()
    {
        var a = InstanceCatalog.CreateAny("chain", P("horizon=5"), 3).Autoregressive!;
        var b = InstanceCatalog.CreateAny("chain", P("horizon=5"), 3).Autoregressive!;
        var c = InstanceCatalog.CreateAny("chain", P("horizon=5"), 4).Autoregressive!;
        Assert.Equal(a.Name, b.Name);
        Assert.True(a.TokenFeatures.SequenceEqual(b.TokenFeatures) && a.LogRefProbs.SequenceEqual(b.LogRefProbs) && a.Transitions.SequenceEqual(b.Transitions));
        Assert.Equal(a.Theta, b.Theta);
        Assert.False(a.TokenFeatures.SequenceEqual(c.TokenFeatures));
        Assert.Contains("seed=3", a.Name);
    }

    [Fact]
    public void CreateGivesTheSequenceLevelFormWithTheSameValues()
    {
        var auto = InstanceCatalog.CreateAny("chain", P("horizon=6", "prompts=2"), 1).Autoregressive!;
        var flat = InstanceCatalog.Create("chain", P("horizon=6", "prompts=2"), 1);
        Assert.Equal(729, flat.Prompts[0].ResponseCount);
        Assert.Equal(AutoregressiveEvaluator.OptimalValue(auto), ExactEvaluator.OptimalValue(flat), 10);
        Assert.Equal(AutoregressiveEvaluator.LogCoverageOfOptimal(auto), ExactEvaluator.LogCoverageOfOptimal(flat), 9);
        var ex = Assert.Throws<InputException>(() => InstanceCatalog.Create("chain", P("horizon=30"), 1));
        Assert.Contains("too many", ex.Message);
    }

    [Fact]
    public void CoverageGrowsWithHorizonWhileConditionalCoverageDoesNot()
    {
        double logCond8 = 0, logCov8 = 0, logCond24 = 0, logCov24 = 0;
        foreach (int h in new[] { 8, 24 })
        {
            var inst = InstanceCatalog.CreateAny("chain", P($"horizon={h}"), 2).Autoregressive!;
            double cond = AutoregressiveEvaluator.LogConditionalCoverageOfOptimal(inst);
            double cov = AutoregressiveEvaluator.LogCoverageOfOptimal(inst);
            Assert.True(cov <= h * cond + 1e-9);   // a product of H token ratios
            if (h == 8) (logCond8, logCov8) = (cond, cov); else (logCond24, logCov24) = (cond, cov);
        }
        Assert.True(logCov24 > 2 * logCov8, $"log C_cov: H=8 {logCov8}, H=24 {logCov24}");
        Assert.True(logCond24 < logCond8 + 1.0, $"log C_cond: H=8 {logCond8}, H=24 {logCond24}");
    }

    [Fact]
    public void ExportImportKeepsTheChain()
    {
        var loaded = InstanceCatalog.CreateAny("chain", P("horizon=7", "prompts=3", "noise=none"), 9);
        string path = Path.Combine(Path.GetTempPath(), $"lmexplore-chain-{Guid.NewGuid():N}.json");
        try
        {
            Assert.Equal(AutoregressiveJson.Format, InstanceFile.Write(loaded, path));
            var back = InstanceCatalog.Load(path).Autoregressive!;
            var a = loaded.Autoregressive!;
            Assert.Equal(a.Name, back.Name);
            Assert.True(a.TokenFeatures.SequenceEqual(back.TokenFeatures) && a.Transitions.SequenceEqual(back.Transitions));
            Assert.Equal(AutoregressiveEvaluator.OptimalValue(a), AutoregressiveEvaluator.OptimalValue(back), 12);
        }
        finally { File.Delete(path); }
    }

    [Theory]
    [InlineData("horizon=0", "'horizon' must be an integer in [1, 1000000], got '0'")]
    [InlineData("vocab=x", "'vocab' must be an integer in [1, 1000000], got 'x'")]
    [InlineData("noise=bernoulli", "needs every sequence reward in [0,1]")]
    [InlineData("responses=5", "chain: unknown parameter 'responses'")]
    public void BadParameters(string kv, string expected)
        => Assert.Contains(expected, Assert.Throws<InputException>(() => InstanceCatalog.CreateAny("chain", P(kv), 1)).Message);
}
