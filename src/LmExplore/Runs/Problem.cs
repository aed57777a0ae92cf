using LmExplore.Algorithms;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Runs;

/// <summary>An output policy of either level: exactly one of the two is set.</summary>
/// <param name="Sequence">A sequence-level output (responses drawn through the sampling oracle).</param>
/// <param name="Token">A token-level output (responses built token by token through the token oracle).</param>
public sealed record LearnedPolicy(IOutputPolicy? Sequence, ITokenOutputPolicy? Token);

/// <summary>The evaluation of an output: its record for the result, and the diagnostics the evaluation adds.</summary>
/// <param name="Evaluation">Kind, J_out, suboptimality and its interval, expected reward, ε reached, cost per draw.</param>
/// <param name="Diagnostics">Numbers the evaluation adds to the result's diagnostics (snake_case keys).</param>
public sealed record ProblemEvaluation(RunEvaluation Evaluation, IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>
/// What a run runs on: a problem owns its learner environments — the sequence level always, the token level where the
/// problem has one — and its evaluator (enumeration, dynamic programming, or Monte Carlo with an interval). Kinds:
/// <see cref="EnumerableProblem"/>, <see cref="AutoregressiveProblem"/>, and the text problem of LmExplore.LanguageModels.
/// A level a problem cannot offer is refused with a one-line <see cref="InputException"/> that says why (the capability
/// it lacks), so an algorithm never needs to know which kind of problem it runs on.
/// </summary>
public abstract class Problem : IDisposable
{
    /// <summary>The name results files carry (<c>instance</c>).</summary>
    public abstract string Name { get; }

    /// <summary>β, d and the exact values where the problem knows them.</summary>
    public abstract ProblemValues Values { get; }

    /// <summary>The sequence-level learner environment of a run: prompts, the sampling oracle (T_comp), the reward
    /// oracle (T_data), features — every call charged to <paramref name="meter"/>; reward noise from <paramref name="noise"/>.</summary>
    public abstract ILearnerEnvironment SequenceEnvironment(Meter meter, Rng noise);

    /// <summary>The token-level learner environment (T_tokens), with whole next-token distributions when
    /// <paramref name="distributions"/>. The default refuses: the problem has no token level.</summary>
    public virtual ITokenLearnerEnvironment TokenEnvironment(Meter meter, Rng noise, bool distributions, string algorithm) =>
        throw new InputException($"{Name}: {algorithm} is token-level and needs an autoregressive instance (the chain family or an lmexplore.autoregressive/v1 file)");

    /// <summary>Checks the budgets a level is metered by before anything runs (e.g. a token-level run has no T_comp).</summary>
    public virtual void CheckBudgets(AlgorithmLevel level, string algorithm, RunRequest request)
    {
        if (level == AlgorithmLevel.Token && request.BudgetComp is not null)
            throw new InputException($"{algorithm} draws tokens, not sequences: give --budget-tokens instead of --budget-comp");
    }

    /// <summary>Scores the output as a user would draw from it. <paramref name="evaluation"/> is the run's evaluation stream
    /// (Monte Carlo kinds draw from it; exact kinds ignore it); nothing here is charged to the run.</summary>
    public abstract ProblemEvaluation Evaluate(LearnedPolicy policy, LearningTarget target, Rng evaluation, CancellationToken cancellationToken);

    /// <summary>
    /// Draws <paramref name="count"/> responses from the output exactly as a user would — x ~ ρ, then the output sampler
    /// through fresh, unbudgeted oracles (evaluation only: nothing is charged to the run) — and writes one JSON line each,
    /// <c>{"prompt": x, "response": y}</c>. A seed fixes the draws. Returns the oracle calls the draws spent.
    /// </summary>
    public abstract long WriteOutputSamples(LearnedPolicy policy, long count, ulong seed, TextWriter writer, CancellationToken cancellationToken);

    /// <summary>Releases what the problem holds (models, verifier processes).</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
