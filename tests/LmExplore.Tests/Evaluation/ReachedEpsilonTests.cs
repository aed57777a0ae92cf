using LmExplore.Runs;
using System.Globalization;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Policies;

namespace LmExplore.Tests.Evaluation;

/// <summary>
/// <c>reached_epsilon</c> never claims more than the headline shows: it is false whenever suboptimality &gt; ε (and,
/// for a Monte Carlo evaluation, whenever the interval reaches above ε); and the Monte Carlo interval covers the
/// exact value in most seeds.
/// </summary>
public class ReachedEpsilonTests
{
    [Fact]
    public void Property_NeverReachedWhenSuboptimalityExceedsEpsilon()
    {
        // 40 small random runs: both algorithms, random C_cov, sizes, ε (1e-7 … 0.3) and budgets, many of them starved.
        var rng = new Rng(2026);
        int reached = 0, missed = 0;
        for (int i = 0; i < 40; i++)
        {
            string algorithm = i % 2 == 0 ? "spanner" : "passive";
            double ccov = new[] { 10.0, 100, 300 }[rng.NextInt(3)];
            int responses = 30 * (int)Math.Ceiling(ccov / 30) + rng.NextInt(90);
            double epsilon = Math.Exp(Math.Log(1e-7) + rng.NextDouble() * Math.Log(3e6));      // 1e-7 … 0.3
            long? budgetComp = algorithm == "passive" && rng.NextInt(2) == 0 ? null : 10 + rng.NextInt(3_000);
            long? budgetData = algorithm == "passive" ? 4 + rng.NextInt(100) : null;
            var request = new RunRequest("needle", PolicyFixtures.SmallNeedle(ccov, prompts: 2, responses: responses), algorithm,
                new Dictionary<string, string> { ["epsilon"] = epsilon.ToString("R", CultureInfo.InvariantCulture) },
                (ulong)(i + 1), budgetComp, budgetData);
            var r = Runner.Run(request);
            Assert.Equal(epsilon, r.Epsilon);
            Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, r.Evaluation);
            string what = $"run {i}: {algorithm}, C_cov {ccov}, ε {epsilon:G3}, suboptimality {r.Suboptimality:G3}";
            if (r.Suboptimality > epsilon) Assert.False(r.ReachedEpsilon, what);
            Assert.Equal(r.Suboptimality <= epsilon, r.ReachedEpsilon);          // exact: the headline decides alone
            if (r.ReachedEpsilon) reached++; else missed++;
        }
        // Both outcomes occur, or the property was not exercised.
        Assert.True(reached >= 5 && missed >= 5, $"reached {reached}, missed {missed}");
    }

    /// <summary>A needle instance, 2 × 120 responses, and a wrong θ̂ with a truncating Σ⁻¹ (a visible suboptimality).</summary>
    private static (EnumerableInstance Instance, Func<ulong, int, AnchoredTruncatedPolicy> Policy) MonteCarloCase()
    {
        var instance = InstanceCatalog.Create("needle", PolicyFixtures.SmallNeedle(30, prompts: 2, responses: 120), 4);
        int d = instance.Dimension;
        var theta = instance.Theta.Select(t => 0.8 * t).ToArray();
        var sigmaInverse = new double[d * d];
        for (int i = 0; i < d; i++) sigmaInverse[i * d + i] = 0.18;
        int axis = Array.FindIndex(instance.Theta, t => t != 0);
        sigmaInverse[((axis + 1) % d) * (d + 1)] = 0.6;
        var sampler = new EnvelopeSampler(instance.Beta, 5, 60);
        return (instance, (seed, limit) => new AnchoredTruncatedPolicy(theta, sigmaInverse, 0.5, sampler, seed, limit));
    }

    [Fact]
    public void MonteCarloInterval_ContainsTheExactValue_InMostSeeds()
    {
        var (instance, policy) = MonteCarloCase();
        var evaluator = new EnumerableOutputEvaluator(instance);
        // More responses than the exact limit (here 50): the Monte Carlo path; a large limit gives the exact value.
        var exact = evaluator.Evaluate(policy(1, 100_000), 0.01);
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, exact.Method);
        Assert.Null(exact.CiLow);
        Assert.True(exact.Suboptimality > 0.001, $"the test needs a visible suboptimality, got {exact.Suboptimality}");
        int covered = 0;
        var misses = new List<string>();
        for (ulong seed = 1; seed <= 20; seed++)
        {
            var mc = evaluator.Evaluate(policy(seed, 50), 0.01);
            Assert.Equal(LmExplore.Evaluation.EvaluationKind.MonteCarlo, mc.Method);
            double low = mc.CiLow!.Value, high = mc.CiHigh!.Value;
            Assert.True(low <= mc.Suboptimality && mc.Suboptimality <= high);
            if (low <= exact.Suboptimality && exact.Suboptimality <= high) covered++;
            else misses.Add($"seed {seed}: [{low:G4}, {high:G4}] vs {exact.Suboptimality:G4}");
        }
        Assert.True(covered >= 18, $"the interval covered the exact value in {covered}/20 seeds: {string.Join("; ", misses)}");
    }

    [Fact]
    public void MonteCarlo_ReachedEpsilonNeedsTheWholeInterval()
    {
        var (instance, policy) = MonteCarloCase();
        var evaluator = new EnumerableOutputEvaluator(instance);
        var p = policy(3, 50);
        var probe = evaluator.Evaluate(p, 1);
        double sub = probe.Suboptimality, high = probe.CiHigh!.Value;
        Assert.True(high > sub, "the interval must have a width");
        // ε below the estimate, between the estimate and the top of the interval, and above the interval.
        Assert.False(evaluator.Evaluate(p, 0.5 * sub).ReachedEpsilon);
        Assert.False(evaluator.Evaluate(p, 0.5 * (sub + high)).ReachedEpsilon);
        Assert.True(evaluator.Evaluate(p, high * (1 + 1e-9) + 1e-15).ReachedEpsilon);
        // The same law evaluated exactly decides on the estimate alone.
        var fixedExact = new LmExplore.Tests.Policies.AnchoredTruncatedPolicyTests.FixedLaw(p.Law(instance) with { MonteCarloBatches = null });
        Assert.True(evaluator.Evaluate(fixedExact, 0.5 * (sub + high)).ReachedEpsilon);
    }
}
