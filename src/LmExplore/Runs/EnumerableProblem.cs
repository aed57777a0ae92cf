using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Runs;

/// <summary>
/// A problem whose responses can be listed: an <see cref="EnumerableInstance"/> (a family or an instance file). Its
/// learner environment is the sequence level; its output is evaluated exactly, by enumeration, on the law of the output
/// sampler as it runs (Monte Carlo with an interval where that law is itself an estimate).
/// </summary>
public class EnumerableProblem(EnumerableInstance instance) : Problem
{
    /// <summary>The instance.</summary>
    public EnumerableInstance Instance { get; } = instance;

    /// <inheritdoc />
    public override string Name => Instance.Name;

    /// <inheritdoc />
    public override ProblemValues Values => new(Instance.Beta, Instance.Dimension, ExactEvaluator.OptimalValue(Instance),
        ExactEvaluator.ReferenceValue(Instance), ExactEvaluator.CoverageOfOptimal(Instance), ConditionalCoverage);

    /// <summary>C_cond(π*) where the responses are token sequences, else null.</summary>
    protected virtual double? ConditionalCoverage => null;

    /// <inheritdoc />
    public override ILearnerEnvironment SequenceEnvironment(Meter meter, Rng noise) => new EnumerableEnvironment(Instance, meter, noise);

    /// <inheritdoc />
    public override ProblemEvaluation Evaluate(LearnedPolicy policy, LearningTarget target, Rng evaluation, CancellationToken cancellationToken)
    {
        var e = new EnumerableOutputEvaluator(Instance).Evaluate(Sequence(policy), target.Epsilon);
        var diagnostics = new Dictionary<string, double>(e.Diagnostics, StringComparer.Ordinal)
        {
            ["average_coverage"] = ExactEvaluator.AverageCoverageOfOptimal(Instance),
        };
        return new ProblemEvaluation(new RunEvaluation(e.Method, e.JOut, e.Suboptimality, e.CiLow, e.CiHigh, e.SuboptimalityTarget,
            e.ExpectedReward, e.ReachedEpsilon, e.SampleCost), diagnostics);
    }

    /// <inheritdoc />
    public override long WriteOutputSamples(LearnedPolicy policy, long count, ulong seed, TextWriter writer, CancellationToken cancellationToken)
    {
        var output = Sequence(policy);
        var rng = new Rng(seed).Split(RunStreams.OutputSamples);
        var environment = new EnumerableEnvironment(Instance, new Meter(), rng.Split(RunStreams.Noise));
        var line = new System.Text.StringBuilder();
        for (long i = 0; i < count; i++)
        {
            if ((i & 0xFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var x = environment.DrawPrompt(rng);
            var draw = output.Sample(environment, x, rng);
            line.Clear().Append("{\"prompt\": ").Append(x.Index).Append(", \"response\": ").Append(draw.Response.Index).Append('}');
            writer.WriteLine(line);
        }
        return environment.Meter.TComp;
    }

    private static Policies.IOutputPolicy Sequence(LearnedPolicy policy) =>
        policy.Sequence ?? throw new InvalidOperationException("an enumerable problem evaluates sequence-level outputs");
}
