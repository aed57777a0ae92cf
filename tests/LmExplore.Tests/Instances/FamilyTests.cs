using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;

namespace LmExplore.Tests.Instances;

public sealed class FamilyTests
{
    private static Dictionary<string, string> P(params string[] kv) =>
        kv.Select(s => s.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);

    internal static void AssertIdentical(EnumerableInstance a, EnumerableInstance b)
    {
        Assert.Equal(a.Beta, b.Beta);
        Assert.Equal(a.Theta, b.Theta);
        Assert.Equal(a.Noise, b.Noise);
        Assert.Equal(a.Prompts.Count, b.Prompts.Count);
        for (int x = 0; x < a.Prompts.Count; x++)
        {
            var pa = a.Prompts[x];
            var pb = b.Prompts[x];
            Assert.Equal(pa.Weight, pb.Weight);
            Assert.Equal(pa.LogRefProbs, pb.LogRefProbs);
            Assert.True(pa.FeatureMatrix.SequenceEqual(pb.FeatureMatrix));
            Assert.Equal(pa.Rewards, pb.Rewards);
        }
    }

    private static bool SameFeatures(EnumerableInstance a, EnumerableInstance b)
        => a.Prompts.Zip(b.Prompts).All(t => t.First.FeatureMatrix.SequenceEqual(t.Second.FeatureMatrix) && t.First.LogRefProbs.SequenceEqual(t.Second.LogRefProbs));

    [Theory]
    [InlineData("needle")]
    [InlineData("linear")]
    public void SameParamsAndSeedGiveIdenticalInstance_OtherSeedDiffers(string family)
    {
        var a = InstanceCatalog.Create(family, P("prompts=3", "responses=50"), 7);
        var b = InstanceCatalog.Create(family, P("prompts=3", "responses=50"), 7);
        var c = InstanceCatalog.Create(family, P("prompts=3", "responses=50"), 8);
        AssertIdentical(a, b);
        Assert.Equal(a.Name, b.Name);
        Assert.False(SameFeatures(a, c));
        Assert.NotEqual(a.Name, c.Name);
    }

    [Fact]
    public void SeedParameterOverridesPassedSeed()
    {
        var a = InstanceCatalog.Create("needle", P("seed=11", "responses=30"), 1);
        var b = InstanceCatalog.Create("needle", P("seed=11", "responses=30"), 2);
        AssertIdentical(a, b);
        Assert.Contains("seed=11", a.Name);
    }

    [Theory]
    [InlineData(10, 1.0, 0.1)]
    [InlineData(100, 1.0, 0.1)]
    [InlineData(1e4, 1.0, 0.1)]
    [InlineData(1e5, 1.5, 0.1)]
    [InlineData(1e3, 1.0, 1e-4)]
    [InlineData(1.5, 1.0, 1e-4)]
    [InlineData(99999, 1.5, 0.1)]
    [InlineData(1e4, 50.0, 1e-3)]
    [InlineData(1e4, 100.0, 1e-4)]
    public void NeedleCoverageMatchesRequest(double ccov, double r, double beta)
    {
        var inst = InstanceCatalog.Create("needle", P($"ccov={ccov:R}", $"R={r:R}", $"beta={beta:R}", "responses=500", "prompts=3"), 3);
        double c = ExactEvaluator.CoverageOfOptimal(inst);
        Assert.True(Math.Abs(c - ccov) <= 1e-9 * ccov, $"C_cov {c:R} vs requested {ccov:R}");
        foreach (var p in inst.Prompts)
        {
            Assert.Equal(1, p.Rewards.Count(v => v != 0));
            Assert.Equal(r, p.Rewards.Max());
            Assert.True(Math.Abs(LmExplore.Numerics.LogMath.LogSumExp(p.LogRefProbs)) < 1e-12);
            Assert.All(p.LogRefProbs, v => Assert.True(double.IsFinite(v)));
        }
    }

    [Fact]
    public void NeedleWithTinyQIsFinite()
    {
        // q ≈ e^{-R/β} far below double's smallest normal: stored as a log-probability.
        var inst = InstanceCatalog.Create("needle", P("q=1e-300", "R=1", "beta=1e-4", "responses=20", "prompts=2"), 3);
        Assert.All(inst.Prompts, p => Assert.Contains(p.LogRefProbs, v => Math.Abs(v - Math.Log(1e-300)) < 1e-9));
        Assert.True(double.IsFinite(ExactEvaluator.OptimalValue(inst)));
        Assert.True(double.IsFinite(ExactEvaluator.LogCoverageOfOptimal(inst)));
    }

    [Fact]
    public void LinearHasUnitFeaturesAndThetaOfNormB()
    {
        var inst = InstanceCatalog.Create("linear", P("B=2.5", "d=5", "responses=40"), 1);
        Assert.Equal(2.5, Math.Sqrt(inst.Theta.Sum(t => t * t)), 12);
        foreach (var p in inst.Prompts)
            for (int y = 0; y < p.ResponseCount; y++)
            {
                var row = p.FeatureRow(y);
                double n2 = 0;
                foreach (var v in row) n2 += v * v;
                Assert.Equal(1.0, n2, 12);
            }
        Assert.Equal(4, inst.Prompts.Count);
        Assert.Equal(0.25, inst.Prompts[0].Weight);
    }

    [Theory]
    [InlineData("needle", "foo=1", "needle: unknown parameter 'foo' (known: ccov, q, R, beta, d, prompts, responses, noise, sigma, zipf, distractor, seed)")]
    [InlineData("needle", "ccov=1e9", "ccov must be below e^(R/beta)")]
    [InlineData("needle", "ccov=1", "'ccov' must be a finite number in (1, inf), got '1'")]
    [InlineData("needle", "beta=abc", "'beta' must be a finite number in [0.0001, 1000], got 'abc'")]
    [InlineData("needle", "beta=0", "'beta' must be a finite number in [0.0001, 1000], got '0'")]
    [InlineData("needle", "beta=1e-300", "'beta' must be a finite number in [0.0001, 1000], got '1e-300'")]
    [InlineData("linear", "beta=1e20", "'beta' must be a finite number in [0.0001, 1000], got '1e20'")]
    [InlineData("linear", "beta=1e300", "'beta' must be a finite number in [0.0001, 1000], got '1e300'")]
    [InlineData("chain", "beta=2000", "'beta' must be a finite number in [0.0001, 1000], got '2000'")]
    [InlineData("linear", "B=1e150", "'B' must be a finite number in [0, 1000000000000], got '1e150'")]
    [InlineData("needle", "R=1e8", "R/beta = 1000000000 exceeds")]
    [InlineData("needle", "responses=1.5", "'responses' must be an integer in [2, 2147483647], got '1.5'")]
    [InlineData("needle", "d=1", "d=1 leaves no direction")]
    [InlineData("linear", "noise=laplace", "'noise' must be one of none, gaussian, bernoulli")]
    [InlineData("linear", "sigma=-1", "'sigma' must be a finite number in [0, inf), got '-1'")]
    [InlineData("linear", "noise=bernoulli", "needs rewards in [0,1]")]
    [InlineData("linear", "seed=-3", "'seed' must be an unsigned 64-bit integer in [0, 18446744073709551615], got '-3'")]
    [InlineData("linear", "responses=1e7", "is too large")]
    public void BadParametersAreInputErrors(string family, string kv, string expected)
    {
        var ex = Assert.Throws<InputException>(() => InstanceCatalog.Create(family, P(kv), 1));
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void NeedleRejectsBothCcovAndQ()
        => Assert.Contains("not both", Assert.Throws<InputException>(() => InstanceCatalog.Create("needle", P("ccov=10", "q=0.1"), 1)).Message);

    [Fact]
    public void SmallBetaLargeRewardsEvaluateFinite()
    {
        var inst = InstanceCatalog.Create("linear", P("B=50", "beta=1e-3", "responses=300", "d=6"), 5);
        double jOpt = ExactEvaluator.OptimalValue(inst);
        double jRef = ExactEvaluator.ReferenceValue(inst);
        Assert.True(double.IsFinite(jOpt) && double.IsFinite(jRef));
        Assert.True(jOpt >= jRef);
        Assert.True(jOpt <= inst.RMax + 1e-9);
        Assert.True(double.IsFinite(ExactEvaluator.LogCoverageOfOptimal(inst)));
    }
}
