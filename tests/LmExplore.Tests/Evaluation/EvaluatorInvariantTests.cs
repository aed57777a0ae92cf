using System.Text.Json;
using CsCheck;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Evaluation;

/// <summary>
/// Every number the exact evaluator reports obeys the inequalities that hold exactly —
/// J_ref ≤ J_opt ≤ R_max, J_opt ≥ E_x max_y (r* + β log π_ref), C_cov ≥ average coverage ≥ 1, all finite —
/// on random extreme instances (β anywhere in [1e-4, 1e3], rewards from 1e-12 to 100, π_ref with masses down to
/// 1e-300), in the library and through <c>instance inspect --json</c>; plus each reported failure as a regression.
/// </summary>
public class EvaluatorInvariantTests
{
    /// <summary>Largest x with e^x finite.</summary>
    private const double LogDoubleMax = 709.782712893384;

    /// <summary>The parameters of one random extreme instance; the instance itself comes from <see cref="Build"/>.</summary>
    public sealed record Extreme(ulong Seed, double LogBeta, double LogScale, int Prompts, int Responses, int D, bool OneWinner)
    {
        public override string ToString() =>
            $"seed={Seed} beta=1e{LogBeta:F3} rewards≤1e{LogScale:F2} prompts={Prompts} responses={Responses} d={D} oneWinner={OneWinner}";
    }

    private static readonly Gen<Extreme> Extremes =
        Gen.Select(Gen.ULong, Gen.Double[-4, 3], Gen.Double[-12, 2], Gen.Int[1, 3], Gen.Int[1, 80], Gen.Int[1, 4], Gen.Bool)
           .Select((seed, lb, ls, px, n, d, one) => new Extreme(seed, lb, ls, px, n, d, one));

    /// <summary>Heavy-tailed π_ref: most log-masses log-normal (σ = 6), a third uniform in [−690, 0] (masses down to
    /// 1e-300); rewards scaled so that max |r*| = 10^LogScale; with <c>OneWinner</c> the top reward sits on the
    /// response of smallest mass (the needle situation).</summary>
    public static EnumerableInstance Build(Extreme e)
    {
        var rng = new Rng(e.Seed);
        double beta = Math.Pow(10, e.LogBeta), scale = Math.Pow(10, e.LogScale);
        var theta = TestInstances.UnitVector(rng, e.D);
        var prompts = new List<EnumerablePrompt>();
        var weights = new double[e.Prompts];
        for (int x = 0; x < e.Prompts; x++) weights[x] = -Math.Log(rng.NextDoubleOpenZero());
        double wsum = weights.Sum();
        for (int x = 0; x < e.Prompts; x++)
        {
            var logRef = new double[e.Responses];
            for (int y = 0; y < logRef.Length; y++)
                logRef[y] = rng.NextDouble() < 1.0 / 3 ? -690 * rng.NextDouble() : 6 * rng.NextGaussian();
            double lse = LogMath.LogSumExp(logRef);
            for (int y = 0; y < logRef.Length; y++) logRef[y] -= lse;
            var features = new double[e.Responses * e.D];
            var rewards = new double[e.Responses];
            for (int y = 0; y < e.Responses; y++)
            {
                TestInstances.UnitVector(rng, e.D).CopyTo(features, y * e.D);
                double u = rng.NextDouble() * 2 - 1;
                for (int k = 0; k < e.D; k++) features[y * e.D + k] *= u;   // reward u·⟨θ, dir⟩ ∈ [−1, 1]
            }
            if (e.OneWinner)
            {
                int rare = Array.IndexOf(logRef, logRef.Min());
                for (int k = 0; k < e.D; k++) features[rare * e.D + k] = theta[k];   // reward 1 = the maximum
            }
            for (int i = 0; i < features.Length; i++) features[i] *= scale;
            prompts.Add(new EnumerablePrompt(weights[x] / wsum, logRef, features, e.D, theta));
        }
        return new EnumerableInstance($"extreme({e})", beta, theta, NoiseModel.None, prompts);
    }

    /// <summary>The invariants on the library's numbers.</summary>
    private static void AssertInvariants(EnumerableInstance inst, InstanceSummary s)
    {
        string at = inst.Name;
        foreach (var (name, v) in new[] { ("R_max", s.RMax), ("J_opt", s.JOpt), ("J_ref", s.JRef), ("log C_cov", s.LogCCov), ("log avg", s.LogAverageCoverage) })
            Assert.True(double.IsFinite(v), $"{at}: {name} = {v}");
        Assert.True(s.JRef <= s.JOpt, $"{at}: J_ref {s.JRef:R} > J_opt {s.JOpt:R}");
        Assert.True(s.JOpt <= s.RMax, $"{at}: J_opt {s.JOpt:R} > R_max {s.RMax:R}");
        Assert.True(s.JRef >= -s.RMax, $"{at}: J_ref {s.JRef:R} < −R_max");
        Assert.True(s.LogAverageCoverage >= 0, $"{at}: log average coverage {s.LogAverageCoverage:R} < 0");
        Assert.True(s.LogCCov >= s.LogAverageCoverage, $"{at}: log C_cov {s.LogCCov:R} < log average coverage {s.LogAverageCoverage:R}");
        Assert.True(s.CCov >= s.AverageCoverage && s.AverageCoverage >= 1, $"{at}: C_cov {s.CCov:R}, average {s.AverageCoverage:R}");
        Assert.Equal(s.LogCCov > LogDoubleMax, double.IsPositiveInfinity(s.CCov));
        // J_opt ≥ J of the best deterministic policy, E_x max_y (r* + β log π_ref), up to the rounding of β·log π_ref.
        double lower = 0, slack = 0;
        foreach (var p in inst.Prompts)
        {
            double best = double.NegativeInfinity;
            for (int y = 0; y < p.ResponseCount; y++) best = Math.Max(best, p.Rewards[y] + inst.Beta * p.LogRefProbs[y]);
            lower += p.Weight * best;
            slack += p.Weight * 1e-12 * (Math.Abs(best) + s.RMax + inst.Beta * 700);
        }
        Assert.True(s.JOpt >= lower - slack, $"{at}: J_opt {s.JOpt:R} below the best deterministic policy {lower:R}");
    }

    [Fact]
    public void RandomExtremeInstancesObeyTheInvariants() =>
        Extremes.Sample(e =>
        {
            var inst = Build(e);
            var s = ExactEvaluator.Summarize(inst);
            AssertInvariants(inst, s);
            // The single-quantity entry points agree with the summary (one computation, no second opinion).
            Assert.Equal(s.JOpt, ExactEvaluator.OptimalValue(inst));
            Assert.Equal(s.JRef, ExactEvaluator.ReferenceValue(inst));
            Assert.Equal(s.LogCCov, ExactEvaluator.LogCoverageOfOptimal(inst));
        }, iter: 400);

    [Fact]
    public void InspectJsonObeysTheInvariantsOnRandomExtremeInstances()
    {
        using var dir = CliHarness.TempDir();
        Extremes.Sample(e =>
        {
            var inst = Build(e);
            var file = dir.File($"x{e.Seed}.json");
            InstanceJson.Write(inst, file);
            var outcome = CliHarness.Invoke("instance", "inspect", file, "--json");
            Assert.True(outcome.ExitCode == 0, $"{e}: exit {outcome.ExitCode}: {outcome.Stderr}");
            var o = outcome.SingleJsonObject();
            double Num(string key)
            {
                var v = o.GetProperty(key);
                Assert.True(v.ValueKind == JsonValueKind.Number, $"{e}: {key} is {v.ValueKind}");
                return v.GetDouble();
            }
            double rMax = Num("R_max"), jOpt = Num("J_opt"), jRef = Num("J_ref"), logC = Num("log_C_cov"), logAvg = Num("log_avg_coverage");
            Assert.True(jRef <= jOpt && jOpt <= rMax && jRef >= -rMax, $"{e}: J_ref {jRef:R}, J_opt {jOpt:R}, R_max {rMax:R}");
            Assert.True(logC >= logAvg && logAvg >= 0, $"{e}: log C_cov {logC:R}, log average {logAvg:R}");
            // C_cov and the average are numbers exactly when they fit a double; null (never NaN text) beyond.
            foreach (var (key, log) in new[] { ("C_cov", logC), ("avg_coverage", logAvg) })
            {
                var v = o.GetProperty(key);
                if (log > LogDoubleMax) Assert.Equal(JsonValueKind.Null, v.ValueKind);
                else Assert.True(v.ValueKind == JsonValueKind.Number && v.GetDouble() >= 1, $"{e}: {key} = {v}");
            }
            if (o.GetProperty("C_cov").ValueKind == JsonValueKind.Number && o.GetProperty("avg_coverage").ValueKind == JsonValueKind.Number)
                Assert.True(Num("C_cov") >= Num("avg_coverage"), $"{e}: C_cov < average coverage");
        }, iter: 60, threads: 1);
    }

    // ---- the reported failures, each reproduced through the CLI ----

    [Theory]
    [InlineData("linear", "beta=1e300")]    // printed J_opt = 1.7e284 with R_max = 0.95
    [InlineData("linear", "beta=1e20")]     // printed J_opt < J_ref
    [InlineData("needle", "beta=1e-300")]   // printed C_cov = 1 with average coverage 0.01
    [InlineData("linear", "beta=1e-300")]   // printed C_cov = 1 with average coverage 0.0026
    [InlineData("linear", "B=1e150")]       // θ* of norm 1e150: C_cov = 1, average coverage 0.0026
    [InlineData("needle", "R=1e150")]       // same through the needle's θ* = R·u
    [InlineData("chain", "beta=1e-300")]
    public void ReportedImpossibleNumbersAreBadInput(string family, string param)
    {
        var outcome = CliHarness.Invoke("instance", "inspect", family, "--param", param, "--json");
        outcome.AssertBadInput($"{family} {param}");
        Assert.Contains(param.Split('=')[0] is "beta" ? "'beta' must be a finite number in [0.0001, 1000]" : param.Split('=')[0], outcome.Stderr);
    }

    [Fact]
    public void FeaturesOf1e300AreBadInputNotNullJ()
    {
        using var dir = CliHarness.TempDir();
        var file = dir.Write("huge.json", """
            { "format": "lmexplore.instance/v1", "beta": 1, "featureDim": 1, "theta": [1],
              "prompts": [ { "weight": 1, "responses": [ { "refProb": 0.5, "features": [1e300] }, { "refProb": 0.5, "features": [-1e300] } ] } ] }
            """);
        var outcome = CliHarness.Invoke("instance", "inspect", file, "--json");
        outcome.AssertBadInput("features of 1e300");
        Assert.Contains("$.prompts[0].responses[0].features[0]: must be finite with |value| ≤", outcome.Stderr);
    }

    [Fact]
    public void HugeTermsThatCancelAreRefusedByTheRewardScale()
    {
        // ⟨θ,φ⟩ = 1e11 − 1e11 + 1 = 1 looks harmless, but each term is 1e11/β: the reward has no correct digits left.
        using var dir = CliHarness.TempDir();
        var file = dir.Write("cancel.json", """
            { "format": "lmexplore.instance/v1", "beta": 0.01, "featureDim": 3, "theta": [1e11, 1e11, 1],
              "prompts": [ { "weight": 1, "responses": [ { "refProb": 0.5, "features": [1, -1, 1] }, { "refProb": 0.5, "features": [0, 0, 0] } ] } ] }
            """);
        var outcome = CliHarness.Invoke("instance", "inspect", file);
        outcome.AssertBadInput("cancelling terms");
        Assert.Contains("$.prompts[0].responses[0].features: reward scale", outcome.Stderr);
    }

    [Fact]
    public void LargestBetaWithTinyRewardsKeepsTheGapToFullPrecision()
    {
        // β = 1e3, rewards ≈ 1e-9: J_opt − J_ref = Var_ref(r)/(2β) ≈ 1e-22 lies far below the rounding of β·log Z
        // (which made J_opt < J_ref); it must come out positive and right to many digits.
        var inst = InstanceCatalog.Create("linear", new Dictionary<string, string> { ["beta"] = "1e3", ["B"] = "1e-9" }, 0);
        var s = ExactEvaluator.Summarize(inst);
        Assert.True(s.JOpt > s.JRef, $"J_opt {s.JOpt:R} ≤ J_ref {s.JRef:R}");
        foreach (var p in inst.Prompts)
        {
            double mean = 0, second = 0;
            for (int y = 0; y < p.ResponseCount; y++) { double q = Math.Exp(p.LogRefProbs[y]); mean += q * p.Rewards[y]; }
            for (int y = 0; y < p.ResponseCount; y++) { double q = Math.Exp(p.LogRefProbs[y]); second += q * (p.Rewards[y] - mean) * (p.Rewards[y] - mean); }
            // G = log E e^t ≈ Var(t)/2 (third-order terms are 1e-12 of it); J_opt − J_ref per prompt is β·G.
            double expected = second / (2 * inst.Beta * inst.Beta);
            TestInstances.AssertRelative(expected, ExactEvaluator.Stats(p, inst.Beta).Gap, 1e-9, "G at beta = 1e3");
        }
    }

    [Fact]
    public void AutoregressiveSummaryObeysTheInvariantsAtLargestBeta()
    {
        // chain at β = 1e3 with rewards ≈ 1e-9 printed avg_coverage = 0.9999999999999997 (< 1).
        var o = CliHarness.Invoke("instance", "inspect", "chain", "--param", "beta=1e3", "--param", "B=1e-9", "--json").SingleJsonObject();
        double jOpt = o.GetProperty("J_opt").GetDouble(), jRef = o.GetProperty("J_ref").GetDouble(), rMax = o.GetProperty("R_max").GetDouble();
        Assert.True(jRef <= jOpt && jOpt <= rMax, $"J_ref {jRef:R}, J_opt {jOpt:R}, R_max {rMax:R}");
        double cCov = o.GetProperty("C_cov").GetDouble(), avg = o.GetProperty("avg_coverage").GetDouble();
        Assert.True(cCov >= avg && avg >= 1, $"C_cov {cCov:R}, average coverage {avg:R}");
        Assert.True(o.GetProperty("C_cond").GetDouble() >= 1);
    }

    [Fact]
    public void SmallestBetaWithRewardsOf100StaysExact()
    {
        // The supported corner: needle with R = 100, β = 1e-4 and C_cov = 1e300 asked for (q ≈ 1e-300).
        var inst = InstanceCatalog.Create("needle", new Dictionary<string, string> { ["beta"] = "1e-4", ["R"] = "100", ["ccov"] = "1e300", ["responses"] = "50", ["prompts"] = "2" }, 0);
        var s = ExactEvaluator.Summarize(inst);
        AssertInvariants(inst, s);
        TestInstances.AssertRelative(1e300, s.CCov, 1e-9, "C_cov");
        Assert.True(s.AverageCoverage <= s.CCov);
    }
}
