using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Policies;

namespace LmExplore.Tests.Evaluation;

/// <summary>Exact identities of docs/FRAMEWORK.md on random instances, and agreement with an independent evaluator.</summary>
public class ExactEvaluatorTests
{
    public static TheoryData<ulong, RefShape, double, double> IdentityCases => new()
    {
        { 1, RefShape.Random, 1.0, 1.0 },
        { 2, RefShape.Zipf, 0.1, 1.0 },
        { 3, RefShape.LogNormal, 0.05, 2.0 },
        { 4, RefShape.Zipf, 1e-3, 50.0 },      // β = 1e-3, rewards of size 50
        { 5, RefShape.LogNormal, 1e-4, 100.0 }, // β = 1e-4, R_max ≈ 100
        { 6, RefShape.Random, 10.0, 3.0 },
    };

    [Theory]
    [MemberData(nameof(IdentityCases))]
    public void SuboptimalityEqualsBetaTimesKlToOptimal(ulong seed, RefShape shape, double beta, double thetaNorm)
    {
        var inst = TestInstances.Random(seed, prompts: 5, responses: 300, d: 6, beta, thetaNorm, shape);
        var rng = new Rng(seed).Split("policies");
        double jStar = ExactEvaluator.OptimalValue(inst);
        // J(π*) = β E log Z equals J evaluated from the definition at π* (value of the explicit optimal policy).
        Assert.True(Math.Abs(jStar - ExactEvaluator.Value(inst, TabularPolicy.Optimal(inst))) <= 1e-9 * Math.Max(1, thetaNorm),
            "β·E log Z differs from J(π*) computed from its definition");
        Assert.True(Math.Abs(ExactEvaluator.ReferenceValue(inst) - ExactEvaluator.Value(inst, TabularPolicy.Reference(inst))) <= 1e-9 * thetaNorm);

        var policies = new List<(string Name, TabularPolicy Policy)>
        {
            ("reference", TabularPolicy.Reference(inst)),
            ("optimal", TabularPolicy.Optimal(inst)),
        };
        for (int k = 0; k < 4; k++)
            policies.Add(($"tabular{k}", new TabularPolicy(TestInstances.RandomPolicyLogProbs(inst, rng, scale: 0.5 + 2 * k))));
        for (int k = 0; k < 4; k++)
        {
            // Linear softmax policies around θ*: perturbed, scaled, random.
            var theta = TestInstances.UnitVector(rng, inst.Dimension);
            for (int i = 0; i < theta.Length; i++) theta[i] = k switch
            {
                0 => inst.Theta[i] + 0.01 * thetaNorm * theta[i],
                1 => 0.5 * inst.Theta[i],
                _ => thetaNorm * theta[i],
            };
            policies.Add(($"softmax{k}", TabularPolicy.LinearSoftmax(inst, theta)));
        }

        foreach (var (name, pi) in policies)
        {
            double j = ExactEvaluator.Value(inst, pi);
            double kl = ExactEvaluator.KlToOptimal(inst, pi);
            Assert.True(double.IsFinite(j) && double.IsFinite(kl), $"{name}: J = {j}, KL = {kl}");
            // The identity J(π*) − J(π) = β·E_x KL(π‖π*) to 1e-9 absolute, even with rewards of size 100.
            double gap = jStar - j;
            Assert.True(Math.Abs(gap - beta * kl) <= 1e-9,
                $"{name}: J(π*) − J(π) = {gap:R} but β·KL = {beta * kl:R}");
            Assert.True(kl >= -1e-12, $"{name}: KL = {kl} < 0");
            Assert.True(gap >= -1e-9 * Math.Max(1, thetaNorm), $"{name}: J(π) = {j:R} exceeds J(π*) = {jStar:R}");
            // J(π) agrees with a compensated, independently written evaluation of the definition.
            Assert.True(Math.Abs(j - IndependentEvaluator.Value(inst, pi.LogProbs)) <= 1e-9 * Math.Max(1, thetaNorm), $"{name}: J");
        }
    }

    [Theory]
    [InlineData(1.0, 1.0)]
    [InlineData(1e-4, 100.0)]
    public void TabularPoliciesAreNormalizedAndOptimalIsLinearSoftmaxOfThetaStar(double beta, double thetaNorm)
    {
        var inst = TestInstances.Random(61, prompts: 3, responses: 700, d: 4, beta, thetaNorm, RefShape.LogNormal);
        var opt = TabularPolicy.Optimal(inst);
        var viaTheta = TabularPolicy.LinearSoftmax(inst, inst.Theta);
        var reference = IndependentEvaluator.Evaluate(inst);
        for (int x = 0; x < inst.Prompts.Count; x++)
        {
            Assert.Equal(opt.LogProbs[x], viaTheta.LogProbs[x]);
            var mass = new IndependentEvaluator.NeumaierSum();
            foreach (double v in opt.LogProbs[x]) { Assert.False(double.IsNaN(v) || double.IsPositiveInfinity(v)); mass.Add(Math.Exp(v)); }
            Assert.Equal(1.0, mass.Value, 12);
            // log π*(y) = log π_ref(y) + r/β − log Z, against the independent log Z.
            var p = inst.Prompts[x];
            int best = Array.IndexOf(p.Rewards, p.Rewards.Max());
            double expected = p.LogRefProbs[best] + p.Rewards[best] / beta - reference.LogZ[x];
            Assert.True(Math.Abs(opt.LogProbs[x][best] - expected) <= 1e-9 * Math.Max(1, Math.Abs(p.Rewards[best] / beta)));
        }
        // Reference() is π_ref itself.
        var r = TabularPolicy.Reference(inst);
        for (int x = 0; x < inst.Prompts.Count; x++) Assert.Equal(inst.Prompts[x].LogRefProbs, r.LogProbs[x]);
    }

    [Fact]
    public void IdentityHoldsForPoliciesWithZeroProbabilityResponses()
    {
        // 1500 responses = three evaluation blocks; the policy puts no mass on every third response and on the whole
        // middle block, so both the vectorized and the one-by-one paths of the evaluator are exercised.
        var inst = TestInstances.Random(51, prompts: 2, responses: 1500, d: 5, beta: 0.05, thetaNorm: 2.0, RefShape.Zipf);
        var logPi = TestInstances.RandomPolicyLogProbs(inst, new Rng(52), scale: 1.0);
        foreach (var row in logPi)
        {
            for (int y = 0; y < row.Length; y++) if (y % 3 == 0 || (y >= 512 && y < 1024)) row[y] = double.NegativeInfinity;
            double lse = LogMath.LogSumExp(row);
            for (int y = 0; y < row.Length; y++) row[y] -= lse;
        }
        var pi = new TabularPolicy(logPi);
        double j = ExactEvaluator.Value(inst, pi);
        double kl = ExactEvaluator.KlToOptimal(inst, pi);
        Assert.True(double.IsFinite(j) && double.IsFinite(kl) && kl > 0);
        Assert.Equal(ExactEvaluator.OptimalValue(inst) - j, inst.Beta * kl, 1e-10);
        // Independent check of J(π): terms with π(y) = 0 are skipped there too.
        var masked = logPi.Select(r => r.Select(v => v).ToArray()).ToArray();
        var e = new IndependentEvaluator.NeumaierSum();
        for (int x = 0; x < inst.Prompts.Count; x++)
        {
            var p = inst.Prompts[x];
            var inner = new IndependentEvaluator.NeumaierSum();
            for (int y = 0; y < p.ResponseCount; y++)
            {
                if (double.IsNegativeInfinity(masked[x][y])) continue;
                double r = IndependentEvaluator.CompensatedDot(p.FeatureRow(y), inst.Theta);
                inner.Add(Math.Exp(masked[x][y]) * (r - inst.Beta * (masked[x][y] - p.LogRefProbs[y])));
            }
            e.Add(p.Weight * inner.Value);
        }
        Assert.Equal(e.Value, j, 1e-10);
        // Its coverage is finite and at least 1 (it moves mass onto fewer responses).
        double c = pi.Coverage(inst);
        Assert.True(double.IsFinite(c) && c >= 1);
    }

    [Theory]
    [InlineData(11UL, 1.0, 1.0)]
    [InlineData(12UL, 0.1, 2.0)]
    [InlineData(13UL, 1e-3, 50.0)]
    [InlineData(14UL, 1e-4, 100.0)]
    public void CoverageBounds(ulong seed, double beta, double thetaNorm)
    {
        var inst = TestInstances.Random(seed, prompts: 4, responses: 200, d: 5, beta, thetaNorm, RefShape.LogNormal);
        double logC = ExactEvaluator.LogCoverageOfOptimal(inst);
        double rMax = inst.RMax;
        Assert.True(double.IsFinite(logC));
        // C_cov(π*) ≤ exp(2 R_max/β), compared in log space (the bound itself overflows at small β).
        Assert.True(logC <= 2 * rMax / beta + 1e-9, $"log C_cov = {logC} > 2 R_max/β = {2 * rMax / beta}");
        Assert.True(logC >= -1e-12, "C_cov(π*) ≥ 1 since π* and π_ref are both normalized");
        double avg = ExactEvaluator.AverageCoverageOfOptimal(inst);
        double c = ExactEvaluator.CoverageOfOptimal(inst);
        Assert.True(double.IsFinite(avg) && double.IsFinite(c));
        // 1 ≤ E_{π*}[π*/π_ref] = 1 + χ²(π*‖π_ref) ≤ C_cov.
        Assert.True(avg >= 1 - 1e-12 && avg <= c * (1 + 1e-12), $"average coverage {avg} not in [1, C_cov = {c}]");
        // C_cov of the explicit optimal policy agrees with the closed form.
        TestInstances.AssertRelative(c, TabularPolicy.Optimal(inst).Coverage(inst), 1e-8, "C_cov(Optimal)");
        // C_cov(π_ref) = 1.
        Assert.Equal(1.0, TabularPolicy.Reference(inst).Coverage(inst), 12);
    }

    [Theory]
    [InlineData(0.1, 1.0, 1e-3)]
    [InlineData(0.1, 1.0, 1e-6)]
    [InlineData(0.01, 1.0, 1e-9)]
    [InlineData(1e-3, 0.05, 1e-5)]
    public void NeedleCoverageMatchesClosedForm(double beta, double reward, double q)
    {
        var inst = TestInstances.Needle(21, prompts: 3, responses: 2000, d: 4, beta, reward, q);
        // C_cov = e^{R/β}/(1 − q + q e^{R/β}) = 1/((1 − q)e^{−R/β} + q), written overflow-free.
        double expected = 1 / ((1 - q) * Math.Exp(-reward / beta) + q);
        TestInstances.AssertRelative(expected, ExactEvaluator.CoverageOfOptimal(inst), 1e-9, "needle C_cov");
        // J(π*) = β log(1 − q + q e^{R/β}) on every prompt.
        double jOpt = beta * (reward / beta + Math.Log((1 - q) * Math.Exp(-reward / beta) + q));
        TestInstances.AssertRelative(jOpt, ExactEvaluator.OptimalValue(inst), 1e-9, "needle J_opt");
        TestInstances.AssertRelative(q * reward, ExactEvaluator.ReferenceValue(inst), 1e-9, "needle J_ref");
    }

    public static TheoryData<string> AgreementCases => new() { "random", "zipf", "lognormal", "large20000", "beta1e-3", "beta1e-4", "needle" };

    private static EnumerableInstance AgreementInstance(string kind) => kind switch
    {
        "random" => TestInstances.Random(31, 6, 500, 8, 0.1, 1.0, RefShape.Random, rewardOffset: 0.3),
        "zipf" => TestInstances.Random(32, 6, 2000, 8, 0.05, 1.0, RefShape.Zipf),
        "lognormal" => TestInstances.Random(33, 4, 1000, 4, 0.2, 3.0, RefShape.LogNormal),
        "large20000" => TestInstances.Random(34, 2, 20_000, 8, 0.01, 1.0, RefShape.Zipf, rewardOffset: 0.2),
        "beta1e-3" => TestInstances.Random(35, 4, 1000, 6, 1e-3, 50.0, RefShape.Zipf, rewardOffset: 5),
        "beta1e-4" => TestInstances.Random(36, 4, 1000, 6, 1e-4, 100.0, RefShape.LogNormal, rewardOffset: -3),
        "needle" => TestInstances.Needle(37, 8, 2000, 4, 0.1, 1.0, 1e-7),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(AgreementCases))]
    public void AgreesWithIndependentEvaluator(string kind)
    {
        var inst = AgreementInstance(kind);
        var reference = IndependentEvaluator.Evaluate(inst);
        var summary = ExactEvaluator.Summarize(inst);
        TestInstances.AssertRelative(reference.JOpt, summary.JOpt, 1e-8, $"{kind} J_opt");
        TestInstances.AssertRelative(reference.JRef, summary.JRef, 1e-8, $"{kind} J_ref");
        TestInstances.AssertRelative(Math.Exp(reference.LogCCov), summary.CCov, 1e-8, $"{kind} C_cov");
        TestInstances.AssertRelative(reference.AverageCoverage, summary.AverageCoverage, 1e-8, $"{kind} average coverage");
        // log Z per prompt (what J_opt is made of), absolute 1e-8·max(1,|log Z|).
        for (int x = 0; x < inst.Prompts.Count; x++)
        {
            double logZ = ExactEvaluator.LogPartition(inst.Prompts[x], inst.Beta);
            Assert.True(Math.Abs(logZ - reference.LogZ[x]) <= 1e-8 * Math.Max(1, Math.Abs(reference.LogZ[x])), $"{kind} log Z[{x}]");
        }
    }

    [Fact]
    public void SmallBetaLargeRewardsStayFinite()
    {
        // β = 1e-4 with R_max = 100: exp(r/β) = e^{10^6} would overflow a double 2700 times over.
        var inst = TestInstances.Random(41, 3, 400, 4, 1e-4, 100.0, RefShape.Zipf);
        Assert.True(inst.RMax > 50);
        var s = ExactEvaluator.Summarize(inst);
        foreach (double v in new[] { s.JOpt, s.JRef, s.AverageCoverage, ExactEvaluator.LogCoverageOfOptimal(inst) })
            Assert.True(double.IsFinite(v), $"non-finite summary {s}");
        // At β → 0, π* puts its mass on argmax r*, so J(π*) → E_x max_y r* − β E_x log(1/π_ref(argmax)).
        double expected = 0;
        foreach (var p in inst.Prompts)
        {
            int best = Array.IndexOf(p.Rewards, p.Rewards.Max());
            expected += p.Weight * (p.Rewards[best] + inst.Beta * p.LogRefProbs[best]);
        }
        Assert.True(Math.Abs(s.JOpt - expected) <= 1e-3, $"J_opt {s.JOpt} vs argmax value {expected}");
        var pi = TabularPolicy.Optimal(inst);
        foreach (var row in pi.LogProbs) Assert.All(row, v => Assert.False(double.IsNaN(v) || double.IsPositiveInfinity(v)));
        double kl = ExactEvaluator.KlToOptimal(inst, TabularPolicy.Reference(inst));
        Assert.True(double.IsFinite(kl) && kl > 0);
    }

    [PythonFact]
    public void IndependentPythonScriptAgrees()
    {
        string python = FindOnPath("python3")!;
        string script = Path.Combine(RepoRoot(), "scripts", "independent_eval.py");
        foreach (var kind in new[] { "beta1e-3" /* Zipf π_ref, rewards of size 50 */, "needle" })
        {
            var inst = ProbabilityRoundTrip(AgreementInstance(kind));
            string path = Path.Combine(Path.GetTempPath(), $"lmexplore-coretests-{kind}-{Environment.ProcessId}.json");
            try
            {
                File.WriteAllText(path, ToInstanceJson(inst));
                var psi = new ProcessStartInfo(python, [script, path, "--json"]) { RedirectStandardOutput = true, RedirectStandardError = true };
                using var proc = Process.Start(psi)!;
                string stdout = proc.StandardOutput.ReadToEnd();
                string stderr = proc.StandardError.ReadToEnd();
                proc.WaitForExit();
                Assert.True(proc.ExitCode == 0, $"independent_eval.py failed: {stderr}");
                using var doc = JsonDocument.Parse(stdout);
                var root = doc.RootElement;
                var s = ExactEvaluator.Summarize(inst);
                TestInstances.AssertRelative(root.GetProperty("J_opt").GetDouble(), s.JOpt, 1e-8, $"{kind} python J_opt");
                TestInstances.AssertRelative(root.GetProperty("J_ref").GetDouble(), s.JRef, 1e-8, $"{kind} python J_ref");
                TestInstances.AssertRelative(root.GetProperty("C_cov").GetDouble(), s.CCov, 1e-8, $"{kind} python C_cov");
                TestInstances.AssertRelative(root.GetProperty("average_coverage").GetDouble(), s.AverageCoverage, 1e-8, $"{kind} python average coverage");
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>Rebuilds the instance from π_ref given as probabilities (what a JSON file stores), so that the
    /// C# side and the Python side take the logarithm of the same doubles.</summary>
    private static EnumerableInstance ProbabilityRoundTrip(EnumerableInstance inst)
    {
        var prompts = inst.Prompts.Select(p =>
        {
            var logRef = p.LogRefProbs.Select(v => Math.Log(Math.Exp(v))).ToArray();
            return new EnumerablePrompt(p.Weight, logRef, p.FeatureMatrix.ToArray(), p.Dimension, inst.Theta);
        }).ToList();
        return new EnumerableInstance(inst.Name, inst.Beta, inst.Theta, inst.Noise, prompts);
    }

    /// <summary>Writes docs/FORMATS.md's lmexplore.instance/v1 format (round-trip doubles).</summary>
    private static string ToInstanceJson(EnumerableInstance inst)
    {
        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append("{\"format\":\"lmexplore.instance/v1\",\"beta\":").Append(F(inst.Beta))
          .Append(",\"featureDim\":").Append(inst.Dimension)
          .Append(",\"theta\":[").Append(string.Join(",", inst.Theta.Select(F))).Append("]")
          .Append(",\"noise\":{\"kind\":\"none\"},\"prompts\":[");
        for (int x = 0; x < inst.Prompts.Count; x++)
        {
            var p = inst.Prompts[x];
            if (x > 0) sb.Append(',');
            sb.Append("{\"weight\":").Append(F(p.Weight)).Append(",\"responses\":[");
            for (int y = 0; y < p.ResponseCount; y++)
            {
                if (y > 0) sb.Append(',');
                sb.Append("{\"refProb\":").Append(F(Math.Exp(p.LogRefProbs[y]))).Append(",\"features\":[");
                var row = p.FeatureRow(y);
                for (int k = 0; k < row.Length; k++) { if (k > 0) sb.Append(','); sb.Append(F(row[k])); }
                sb.Append("]}");
            }
            sb.Append("]}");
        }
        sb.Append("]}");
        return sb.ToString();
    }

    internal static bool Runs(string exe, params string[] args)
    {
        try
        {
            var psi = new ProcessStartInfo(exe, args) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var proc = Process.Start(psi)!;
            proc.StandardOutput.ReadToEnd();
            proc.StandardError.ReadToEnd();
            proc.WaitForExit();
            return proc.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    internal static string? FindOnPath(string exe)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            string candidate = Path.Combine(dir, exe);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LmExplore.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (LmExplore.sln) not found");
    }
}

/// <summary>A fact that is reported as skipped (not passed) when no working python3 is on the PATH.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        string? python = ExactEvaluatorTests.FindOnPath("python3");
        if (python is null || !ExactEvaluatorTests.Runs(python, "-c", "import json, math"))
            Skip = "python3 is not available: the independent Python evaluator cannot run (the C# IndependentEvaluator tests still do)";
    }
}
