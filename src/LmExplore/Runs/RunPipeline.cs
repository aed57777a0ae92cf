using System.Diagnostics;
using LmExplore.Algorithms;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Runs;

/// <summary>A finished run: its result, the problem it ran on and the output it produced (to draw from it afterwards).
/// Disposing it releases the problem (a text problem's model and verifier processes).</summary>
/// <param name="Result">The result record.</param>
/// <param name="Problem">The problem the run ran on.</param>
/// <param name="Policy">The output policy.</param>
public sealed record RunOutcome(RunResult Result, Problem Problem, LearnedPolicy Policy) : IDisposable
{
    /// <summary>Draws from the output as a user would (see <see cref="Runs.Problem.WriteOutputSamples"/>); returns the oracle calls spent.</summary>
    public long WriteOutputSamples(long count, ulong seed, TextWriter writer, CancellationToken cancellationToken = default) =>
        Problem.WriteOutputSamples(Policy, count, seed, writer, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => Problem.Dispose();
}

/// <summary>
/// The one path of every run — <c>run</c>, <c>sweep</c>, <c>frontier</c>, <c>reproduce</c>, text tasks alike:
/// the algorithm from the <see cref="AlgorithmRegistry"/> (its options validated) → the problem's learner environment
/// at the algorithm's level, metered by the request's budgets → the algorithm → its output policy → the problem's
/// evaluation of that output → one <see cref="RunResult"/>, composed here and nowhere else.
/// </summary>
public static class RunPipeline
{
    /// <summary>Runs <paramref name="request"/> on <paramref name="problem"/>. Throws <see cref="InputException"/> on bad
    /// input; never lets a budget exception escape. The same request gives the same result, wall_seconds aside.
    /// Disposing the outcome disposes <paramref name="problem"/>.</summary>
    public static RunOutcome Execute(Problem problem, RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default,
        Stopwatch? clock = null)
    {
        clock ??= Stopwatch.StartNew(); // a caller that opened the problem passes its clock, so wall_seconds includes that
        CheckBudgets(request);
        var info = AlgorithmRegistry.Find(request.Algorithm);
        var algorithm = info.Create(request.AlgoParams);
        problem.CheckBudgets(info.Level, info.Name, request);

        var meter = new Meter(request.BudgetData, request.BudgetComp, request.BudgetTokens);
        var root = new Rng(request.Seed);
        string name;
        LearningTarget target;
        LearnedPolicy policy;
        RunStatus status;
        IReadOnlyDictionary<string, double> learned;
        int dimension;
        try
        {
            switch (algorithm)
            {
                case IAlgorithm sequence:
                {
                    var environment = problem.SequenceEnvironment(meter, root.Split(RunStreams.Noise));
                    var output = sequence.Run(environment, root.Split(RunStreams.Algorithm), progress, cancellationToken);
                    (name, target, policy, status, learned, dimension) = (sequence.Name, sequence.Target, new LearnedPolicy(output.Policy, null), output.Status, output.Diagnostics, environment.Dimension);
                    break;
                }
                case ITokenAlgorithm token:
                {
                    var environment = problem.TokenEnvironment(meter, root.Split(RunStreams.Noise), token.UsesDistributions, token.Name);
                    var output = token.Run(environment, root.Split(RunStreams.Algorithm), progress, cancellationToken);
                    (name, target, policy, status, learned, dimension) = (token.Name, token.Target, new LearnedPolicy(null, output.Policy), output.Status, output.Diagnostics, environment.Dimension);
                    break;
                }
                default:
                    throw new InvalidOperationException($"algorithm '{info.Name}' is neither sequence- nor token-level");
            }
        }
        catch (BudgetExhaustedException e)
        {
            // Algorithms catch this themselves; reaching here is a bug in one of them.
            throw new InvalidOperationException($"{info.Name} let a budget exception escape", e);
        }
        var costs = new RunCosts(meter.TData, meter.TComp, meter.TTokens);

        var evaluation = problem.Evaluate(policy, target, root.Split(RunStreams.Evaluation), cancellationToken);
        var diagnostics = new Dictionary<string, double>(learned, StringComparer.Ordinal);
        foreach (var (key, value) in evaluation.Diagnostics) diagnostics[key] = value;
        var result = new RunResult(
            new RunIdentity(problem.Name, name, request.Seed, target.Epsilon),
            status == RunStatus.Ok ? "ok" : "budget_exhausted",
            problem.Values with { D = dimension },
            costs,
            evaluation.Evaluation,
            clock.Elapsed.TotalSeconds,
            diagnostics);
        return new RunOutcome(result, problem, policy);
    }

    /// <summary>Budgets are counts: a negative one is bad input whatever the problem.</summary>
    private static void CheckBudgets(RunRequest request)
    {
        if (request.BudgetComp is < 0) throw new InputException($"--budget-comp must be ≥ 0, got {request.BudgetComp}");
        if (request.BudgetData is < 0) throw new InputException($"--budget-data must be ≥ 0, got {request.BudgetData}");
        if (request.BudgetTokens is < 0) throw new InputException($"--budget-tokens must be ≥ 0, got {request.BudgetTokens}");
    }
}
