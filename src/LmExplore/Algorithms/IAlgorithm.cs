using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>The algorithm finished within its budgets.</summary>
    Ok,
    /// <summary>A budget ran out (or would have, had the algorithm gone on); the output is what it had learned by then.</summary>
    BudgetExhausted,
}

/// <summary>An algorithm's result: its output policy, status and any extra diagnostics (e.g. spanner size).</summary>
public sealed record AlgorithmOutput(IOutputPolicy Policy, RunStatus Status, IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>
/// A learning algorithm. It sees only an <see cref="ILearnerEnvironment"/> — prompts it received, responses it
/// paid for — so it runs unchanged on any model the environment wraps.
/// </summary>
public interface IAlgorithm
{
    /// <summary>Name as used on the command line (spanner, passive, …).</summary>
    string Name { get; }

    /// <summary>What the run is asked to achieve (ε, δ, R_max).</summary>
    LearningTarget Target { get; }

    /// <summary>Runs to completion or until a budget runs out (it never lets <see cref="BudgetExhaustedException"/> escape).</summary>
    AlgorithmOutput Run(ILearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken);
}
