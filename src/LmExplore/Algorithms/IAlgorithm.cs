using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>How a run ended.</summary>
public enum RunStatus
{
    /// <summary>The algorithm finished within its budgets.</summary>
    Ok,
    /// <summary>A budget ran out; the output is what the algorithm had learned by then.</summary>
    BudgetExhausted,
}

/// <summary>
/// What an algorithm hands back: a policy that exact evaluation can tabulate, and the expected
/// number of sampling-oracle calls needed to draw one response from it.
/// </summary>
public interface IOutputPolicy
{
    /// <summary>The output distribution, exactly (for samplers: their target distribution).</summary>
    TabularPolicy Tabulate(EnumerableInstance instance);

    /// <summary>Expected sampling-oracle calls to draw one response, averaged over x ~ ρ.</summary>
    double ExpectedSampleCost(EnumerableInstance instance);
}

/// <summary>An algorithm's result: its output policy, status and any extra diagnostics (e.g. spanner size).</summary>
public sealed record AlgorithmOutput(IOutputPolicy Policy, RunStatus Status, IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>An algorithm that learns from the metered oracles of an enumerable instance.</summary>
public interface IEnumerableAlgorithm
{
    /// <summary>Name as used on the command line (spanner, passive, …).</summary>
    string Name { get; }

    /// <summary>Runs to completion or until a budget runs out (it never lets <see cref="BudgetExhaustedException"/> escape).</summary>
    AlgorithmOutput Run(EnumerableEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken);
}

/// <summary>
/// Optional: an output policy that can report extra numbers once the evaluator knows the instance
/// (e.g. the suboptimality of SpannerSampling's untruncated π_θ̂ beside that of its truncated sampler,
/// or whether its tabulation was exact or Monte Carlo). The runner merges them into the diagnostics.
/// </summary>
public interface IEvaluationDiagnostics
{
    /// <summary>Extra evaluation numbers for <paramref name="instance"/>, keyed by snake_case names.</summary>
    IReadOnlyDictionary<string, double> EvaluationDiagnostics(EnumerableInstance instance);
}
