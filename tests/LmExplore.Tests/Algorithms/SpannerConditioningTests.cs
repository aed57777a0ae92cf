using System.Globalization;
using LmExplore.Instances;
using LmExplore.Policies;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Algorithms;

/// <summary>
/// Regressions: SpannerSampling on features far larger than λ (norm 1e8, legal in a file) or with a
/// tiny λ used to crash with exit code 1 ("Σ_span⁻¹ is not positive definite"). Now it either runs or stops with the
/// bad-input contract (exit 2, one line), and at the edge of the guard the evaluation no longer throws.
/// </summary>
public class SpannerConditioningTests
{
    private static string ScaledInstance(double scale) => $$"""
        { "format": "lmexplore.instance/v1", "beta": 0.1, "featureDim": 2,
          "theta": [{{(1 / scale).ToString("R", CultureInfo.InvariantCulture)}}, 0], "noise": { "kind": "none" },
          "prompts": [ { "weight": 1, "responses": [
            { "refProb": 0.25, "features": [{{F(0.1 * scale)}}, {{F(0.2 * scale)}}] },
            { "refProb": 0.25, "features": [{{F(0.3 * scale)}}, 0] },
            { "refProb": 0.5, "features": [{{F(-0.3 * scale)}}, {{F(0.5 * scale)}}] } ] } ] }
        """;

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(1e8)]
    [InlineData(1e20)]
    public void HugeFeatures_AreABadInput_NotACrash(double scale)
    {
        using var dir = CliHarness.TempDir();
        var file = dir.Write("scaled.json", ScaledInstance(scale));
        var outcome = CliHarness.Invoke("run", "--instance", file, "--algo", "spanner", "--seed", "1", "--json");
        outcome.AssertBadInput($"features of norm {scale}");
        // 1e20 is refused when the file is read (entries beyond InstanceLimits.MaxMagnitude); 1e8 by the algorithm.
        Assert.Contains(scale > 1e12 ? "must be finite with |value| ≤" : "lambda", outcome.Stderr);
    }

    [Fact]
    public void LargeButResolvableFeatures_StillRun()
    {
        using var dir = CliHarness.TempDir();
        var file = dir.Write("scaled.json", ScaledInstance(1e5));
        var json = CliHarness.Invoke("run", "--instance", file, "--algo", "spanner", "--seed", "1", "--json").SingleJsonObject();
        Assert.True(double.IsFinite(json.GetProperty("suboptimality").GetDouble()));
    }

    [Theory]
    [InlineData("1e-16")]
    [InlineData("1e-17")]
    [InlineData("1e-20")]
    public void TinyLambda_IsABadInput_NotACrash(string lambda)
    {
        var outcome = CliHarness.Invoke("run", "--instance", "needle", "--param", "responses=200", "--param", "prompts=2",
            "--algo", "spanner", "--algo-param", "lambda=" + lambda, "--seed", "1", "--json");
        outcome.AssertBadInput($"lambda = {lambda}");
    }

    [Theory]
    [InlineData("1e-13", 1UL)]
    [InlineData("1e-14", 2UL)]
    public void SmallLambda_BelowTheGuard_RunsToAFiniteResult(string lambda, ulong seed)
    {
        var json = CliHarness.Invoke("run", "--instance", "needle", "--param", "responses=200", "--param", "prompts=2",
            "--algo", "spanner", "--algo-param", "lambda=" + lambda, "--seed", seed.ToString(CultureInfo.InvariantCulture), "--json").SingleJsonObject();
        Assert.True(double.IsFinite(json.GetProperty("J_out").GetDouble()));
    }

    [Fact]
    public void OutputPolicy_WithRoundingIndefiniteSigmaInverse_StillTabulates()
    {
        var instance = InstanceCatalog.Create("needle", new Dictionary<string, string> { ["prompts"] = "2", ["responses"] = "50" }, 3, false);
        int d = instance.Dimension;
        var sigmaInverse = new double[d * d];
        for (int i = 0; i < d; i++) sigmaInverse[i * d + i] = 1;
        sigmaInverse[d * d - 1] = -1e-18;   // a direction resolved to rounding level, pushed below 0 by rounding
        var theta = new double[d];
        theta[0] = 0.5;
        var policy = new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, new EnvelopeSampler(instance.Beta, 4, 10), 7);
        var law = policy.Law(instance);
        foreach (var row in law.Sampler.LogProbs)
            Assert.Equal(1.0, row.Sum(Math.Exp), 9);
        Assert.True(double.IsFinite(law.SampleCost));
    }
}
