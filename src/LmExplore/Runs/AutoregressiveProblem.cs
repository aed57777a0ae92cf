using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Runs;

/// <summary>
/// An autoregressive instance (the chain family, <c>lmexplore.autoregressive/v1</c> files) at both levels. Token level:
/// the token oracle (T_tokens), the output evaluated exactly by dynamic programming over (h, s) on the law of its sampler
/// as it runs, for V^H far beyond enumeration. Sequence level: the V^H sequences enumerated (only where
/// V^H ≤ <see cref="InstanceCatalog.MaxEnumeratedSequences"/>), each sample charging its H tokens, evaluated by enumeration.
/// </summary>
public sealed class AutoregressiveProblem(AutoregressiveInstance instance) : Problem
{
    private EnumerableProblem? _sequences;

    /// <summary>The instance.</summary>
    public AutoregressiveInstance Instance { get; } = instance;

    /// <summary>True once a sequence-level environment was asked for: the result then describes the enumerated problem.</summary>
    private bool SequenceLevel => _sequences is not null;

    /// <inheritdoc />
    public override string Name => SequenceLevel ? _sequences!.Name : Instance.Name;

    /// <inheritdoc />
    public override ProblemValues Values => SequenceLevel
        ? _sequences!.Values with { CCond = AutoregressiveEvaluator.ConditionalCoverageOfOptimal(Instance) }
        : new(Instance.Beta, Instance.Dimension, AutoregressiveEvaluator.OptimalValue(Instance), AutoregressiveEvaluator.ReferenceValue(Instance),
            AutoregressiveEvaluator.CoverageOfOptimal(Instance), AutoregressiveEvaluator.ConditionalCoverageOfOptimal(Instance));

    /// <inheritdoc />
    public override ILearnerEnvironment SequenceEnvironment(Meter meter, Rng noise) =>
        new SequenceLevelEnvironment(Sequences().SequenceEnvironment(meter, noise), Instance.Horizon);

    /// <inheritdoc />
    public override ITokenLearnerEnvironment TokenEnvironment(Meter meter, Rng noise, bool distributions, string algorithm) =>
        new AutoregressiveTokenEnvironment(Instance, meter, noise, distributions);

    /// <inheritdoc />
    public override ProblemEvaluation Evaluate(LearnedPolicy policy, LearningTarget target, Rng evaluation, CancellationToken cancellationToken)
    {
        if (policy.Token is null) return Sequences().Evaluate(policy, target, evaluation, cancellationToken);
        var law = policy.Token.Law(Instance);
        var value = TokenPolicyEvaluator.Evaluate(Instance, law);
        var targetValue = TokenPolicyEvaluator.Evaluate(Instance, policy.Token.TargetLaw(Instance));
        double jOpt = AutoregressiveEvaluator.OptimalValue(Instance);
        double suboptimality = jOpt - value.J;
        var diagnostics = new Dictionary<string, double>(law.Diagnostics, StringComparer.Ordinal)
        {
            ["kl_to_optimal"] = value.KlToOptimal,
            ["kl_to_ref"] = value.KlToRef,
            ["average_coverage"] = AutoregressiveEvaluator.AverageCoverageOfOptimal(Instance),
            ["log_C_cov"] = AutoregressiveEvaluator.LogCoverageOfOptimal(Instance),
            ["horizon"] = Instance.Horizon,
            ["vocab"] = Instance.Vocab,
        };
        return new ProblemEvaluation(new RunEvaluation(EvaluationKind.Exact, value.J, suboptimality, null, null, jOpt - targetValue.J,
            value.ExpectedReward, suboptimality <= target.Epsilon, value.ExpectedCalls), diagnostics);
    }

    /// <summary>
    /// Token level: JSON lines <c>{"prompt": x, "response": [a_1, …, a_H]}</c> drawn through a fresh, unbudgeted token
    /// oracle (returns the token calls spent); sequence level: as <see cref="EnumerableProblem.WriteOutputSamples"/>.
    /// </summary>
    public override long WriteOutputSamples(LearnedPolicy policy, long count, ulong seed, TextWriter writer, CancellationToken cancellationToken)
    {
        if (policy.Token is not { } output) return Sequences().WriteOutputSamples(policy, count, seed, writer, cancellationToken);
        var rng = new Rng(seed).Split(RunStreams.OutputSamples);
        bool distributions = output is TruncatedTokenPolicy { UseDistributions: true };
        var environment = new AutoregressiveTokenEnvironment(Instance, new Meter(), rng.Split(RunStreams.Noise), distributions);
        var tokens = new int[Instance.Horizon];
        var line = new System.Text.StringBuilder();
        for (long i = 0; i < count; i++)
        {
            if ((i & 0xFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var x = environment.DrawPrompt(rng);
            output.Sample(environment, x, rng, tokens);
            line.Clear().Append("{\"prompt\": ").Append(x.Index).Append(", \"response\": [");
            for (int h = 0; h < tokens.Length; h++) line.Append(h == 0 ? "" : ", ").Append(tokens[h]);
            writer.WriteLine(line.Append("]}"));
        }
        return environment.Meter.TTokens;
    }

    /// <summary>The sequence-level form, enumerated on first use; a one-line input error when V^H is too large.</summary>
    private EnumerableProblem Sequences()
    {
        if (_sequences is not null) return _sequences;
        if (Math.Pow(Instance.Vocab, Instance.Horizon) > InstanceCatalog.MaxEnumeratedSequences)
            throw new InputException($"{Instance.Name}: vocab^horizon = {Instance.Vocab}^{Instance.Horizon} sequences are too many for a sequence-level (enumerable) instance (limit {InstanceCatalog.MaxEnumeratedSequences}); this needs a token-level algorithm (mtss)");
        return _sequences = new EnumerableProblem(Instance.ToEnumerable(InstanceCatalog.MaxEnumeratedSequences));
    }
}
