using LmExplore.Runs;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Policies;

namespace LmExplore.Tests.Evaluation;

/// <summary>The headline evaluator scores the sampler's law (not its target), and the result JSON carries its fields.</summary>
public class OutputEvaluatorTests
{
    [Fact]
    public void ExactEvaluation_ScoresTheSamplersLaw_IndependentlyRecomputed()
    {
        var instance = TestInstances.Random(31, prompts: 3, responses: 40, d: 3, beta: 0.3, thetaNorm: 1.5);
        // One pilot sample and few proposals: the sampler's law is far from its target, so the two headlines differ.
        var policy = new SoftmaxOutputPolicy(instance.Theta, new EnvelopeSampler(instance.Beta, 1, 3));
        var law = policy.Law(instance);
        var e = new EnumerableOutputEvaluator(instance).Evaluate(policy, 0.05);
        var reference = IndependentEvaluator.Evaluate(instance);
        double jOut = IndependentEvaluator.Value(instance, law.Sampler.LogProbs);
        double jTarget = IndependentEvaluator.Value(instance, law.Target.LogProbs);
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, e.Method);
        Assert.Null(e.CiLow);
        Assert.Null(e.CiHigh);
        Assert.Equal(jOut, e.JOut, 9);
        Assert.Equal(reference.JOpt - jOut, e.Suboptimality, 9);
        Assert.Equal(reference.JOpt - jTarget, e.SuboptimalityTarget, 9);
        Assert.True(e.Suboptimality > e.SuboptimalityTarget + 1e-3, $"sampler {e.Suboptimality} vs target {e.SuboptimalityTarget}");
        Assert.Equal(e.Suboptimality <= 0.05, e.ReachedEpsilon);
        Assert.Equal(law.SampleCost, e.SampleCost);
        // E_{x~ρ, y~law} r*, computed plainly.
        double reward = 0, weight = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            weight += p.Weight;
            for (int y = 0; y < p.ResponseCount; y++) reward += p.Weight * Math.Exp(law.Sampler.LogProbs[x][y]) * p.Rewards[y];
        }
        Assert.Equal(reward / weight, e.ExpectedReward, 12);
    }

    [Fact]
    public void RunResultJson_RoundTripsTheHeadlineFields()
    {
        var exact = TestResults.Flat("needle", "spanner", 3, 0.1, 4, "ok", 10, 100, 0, 0.5, 0.1, 0.45, 0.05,
            null, null, 0.04, 0.6, 0.01, false, "exact", 12.5, 100, null, 0.25, new Dictionary<string, double>());
        var monteCarlo = exact with { Output = exact.Output with { CiLow = 0.03, CiHigh = 0.07, Kind = LmExplore.Evaluation.EvaluationKind.MonteCarlo, ReachedEpsilon = true } };
        foreach (var r in new[] { exact, monteCarlo })
        {
            string json = RunResultJson.Serialize(r);
            var back = RunResultJson.Parse(json);
            Assert.Equal((r.Suboptimality, r.SuboptimalityCiLow, r.SuboptimalityCiHigh, r.SuboptimalityTarget),
                (back.Suboptimality, back.SuboptimalityCiLow, back.SuboptimalityCiHigh, back.SuboptimalityTarget));
            Assert.Equal((r.ExpectedRewardOut, r.Epsilon, r.ReachedEpsilon, r.Evaluation),
                (back.ExpectedRewardOut, back.Epsilon, back.ReachedEpsilon, back.Evaluation));
            Assert.Equal(json, RunResultJson.Serialize(back));
        }
        Assert.Contains("\"suboptimality_ci\":null", RunResultJson.Serialize(exact));
        Assert.Contains("\"suboptimality_ci\":[0.03,0.07]", RunResultJson.Serialize(monteCarlo));
    }
}
