using System.Diagnostics;
using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Experiments;

/// <summary>Runs one <see cref="RunRequest"/> end to end: instance, metered environment, algorithm, exact evaluation.</summary>
public static class Runner
{
    /// <summary>Child-RNG key of the reward noise (fixed, so a seed fixes the whole run).</summary>
    public const string NoiseKey = "reward-noise";
    /// <summary>Child-RNG key of the algorithm's randomness.</summary>
    public const string AlgorithmKey = "algorithm";

    /// <summary>Runs the request. Throws <see cref="InputException"/> on bad input; never lets a budget exception escape.
    /// The same request gives the same result, wall_seconds aside.</summary>
    public static RunResult Run(RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        if (request.BudgetComp is < 0) throw new InputException($"--budget-comp must be ≥ 0, got {request.BudgetComp}");
        if (request.BudgetData is < 0) throw new InputException($"--budget-data must be ≥ 0, got {request.BudgetData}");
        if (request.BudgetTokens is < 0) throw new InputException($"--budget-tokens must be ≥ 0, got {request.BudgetTokens}");
        var algorithm = AlgorithmCatalog.Create(request.Algorithm, request.AlgoParams);
        var instance = InstanceCatalog.Create(request.Instance, request.InstanceParams, request.Seed, request.Normalize);

        var meter = new Meter(request.BudgetData, request.BudgetComp, request.BudgetTokens);
        var root = new Rng(request.Seed);
        var environment = new EnumerableEnvironment(instance, meter, root.Split(NoiseKey));
        AlgorithmOutput output;
        try
        {
            output = algorithm.Run(environment, root.Split(AlgorithmKey), progress, cancellationToken);
        }
        catch (BudgetExhaustedException e)
        {
            // Algorithms catch this themselves; reaching here is a bug in one of them.
            throw new InvalidOperationException($"{algorithm.Name} let a budget exception escape", e);
        }

        var policy = output.Policy.Tabulate(instance);
        double jOpt = ExactEvaluator.OptimalValue(instance);
        double jRef = ExactEvaluator.ReferenceValue(instance);
        double jOut = ExactEvaluator.Value(instance, policy);
        double sampleCost = output.Policy.ExpectedSampleCost(instance);
        var diagnostics = new Dictionary<string, double>(output.Diagnostics, StringComparer.Ordinal);
        if (output.Policy is IEvaluationDiagnostics extra)
            foreach (var (key, value) in extra.EvaluationDiagnostics(instance)) diagnostics[key] = value;
        diagnostics["average_coverage"] = ExactEvaluator.AverageCoverageOfOptimal(instance);

        return new RunResult(
            Instance: instance.Name,
            Algorithm: algorithm.Name,
            Seed: request.Seed,
            Beta: instance.Beta,
            D: instance.Dimension,
            Status: output.Status == RunStatus.Ok ? "ok" : "budget_exhausted",
            TData: meter.TData,
            TComp: meter.TComp,
            TTokens: meter.TTokens,
            JOpt: jOpt,
            JRef: jRef,
            JOut: jOut,
            Suboptimality: jOpt - jOut,
            OutputSampleCost: sampleCost,
            CCov: ExactEvaluator.CoverageOfOptimal(instance),
            CCond: null,
            WallSeconds: clock.Elapsed.TotalSeconds,
            Diagnostics: diagnostics);
    }
}
