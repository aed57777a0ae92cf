using LmExplore.Runs;
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
    /// <summary>Runs the request. Throws <see cref="InputException"/> on bad input; never lets a budget exception escape.
    /// The same request gives the same result, wall_seconds aside.</summary>
    public static RunResult Run(RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default) =>
        Text.TextRunner.Handles(request) ? Text.TextRunner.Run(request, progress, cancellationToken) // text:TASK (docs/LANGUAGE-MODELS.md)
            : Execute(request, progress, cancellationToken).Result;

    /// <summary>Like <see cref="Run"/>, and also hands back the output policy and the instance, e.g. to draw from the output.</summary>
    public static RunOutcome Execute(RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        if (request.BudgetComp is < 0) throw new InputException($"--budget-comp must be ≥ 0, got {request.BudgetComp}");
        if (request.BudgetData is < 0) throw new InputException($"--budget-data must be ≥ 0, got {request.BudgetData}");
        if (request.BudgetTokens is < 0) throw new InputException($"--budget-tokens must be ≥ 0, got {request.BudgetTokens}");
        if (AlgorithmCatalog.IsTokenLevel(request.Algorithm)) return TokenRunner.Execute(request, clock, progress, cancellationToken);
        var algorithm = AlgorithmCatalog.Create(request.Algorithm, request.AlgoParams);
        // An autoregressive instance runs in its sequence-level view: enumerated sequences, H tokens charged per sample.
        var loaded = InstanceCatalog.CreateAny(request.Instance, request.InstanceParams, request.Seed, request.Normalize);
        var autoregressive = loaded.Autoregressive;
        var instance = loaded.Enumerable ?? TokenRunner.Enumerate(autoregressive!);

        var meter = new Meter(request.BudgetData, request.BudgetComp, request.BudgetTokens);
        var root = new Rng(request.Seed);
        ILearnerEnvironment environment = new EnumerableEnvironment(instance, meter, root.Split(RunStreams.Noise));
        if (autoregressive is not null) environment = new SequenceLevelEnvironment(environment, autoregressive.Horizon);
        AlgorithmOutput output;
        try
        {
            output = algorithm.Run(environment, root.Split(RunStreams.Algorithm), progress, cancellationToken);
        }
        catch (BudgetExhaustedException e)
        {
            // Algorithms catch this themselves; reaching here is a bug in one of them.
            throw new InvalidOperationException($"{algorithm.Name} let a budget exception escape", e);
        }

        var evaluation = new EnumerableOutputEvaluator(instance).Evaluate(output.Policy, algorithm.Target.Epsilon);
        double jOpt = ExactEvaluator.OptimalValue(instance);
        var diagnostics = new Dictionary<string, double>(output.Diagnostics, StringComparer.Ordinal);
        foreach (var (key, value) in evaluation.Diagnostics) diagnostics[key] = value;
        diagnostics["average_coverage"] = ExactEvaluator.AverageCoverageOfOptimal(instance);

        var result = new RunResult(
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
            JRef: ExactEvaluator.ReferenceValue(instance),
            JOut: evaluation.JOut,
            Suboptimality: evaluation.Suboptimality,
            SuboptimalityCiLow: evaluation.CiLow,
            SuboptimalityCiHigh: evaluation.CiHigh,
            SuboptimalityTarget: evaluation.SuboptimalityTarget,
            ExpectedRewardOut: evaluation.ExpectedReward,
            Epsilon: algorithm.Target.Epsilon,
            ReachedEpsilon: evaluation.ReachedEpsilon,
            Evaluation: evaluation.Method,
            OutputSampleCost: evaluation.SampleCost,
            CCov: ExactEvaluator.CoverageOfOptimal(instance),
            CCond: autoregressive is null ? null : AutoregressiveEvaluator.ConditionalCoverageOfOptimal(autoregressive),
            WallSeconds: clock.Elapsed.TotalSeconds,
            Diagnostics: diagnostics);
        return new RunOutcome(result, output.Policy, instance);
    }

    /// <summary>
    /// Draws <paramref name="count"/> responses from a run's output exactly as a user would — x ~ ρ, then the output
    /// sampler through a fresh, unbudgeted oracle (evaluation only: nothing is charged to the run) — and writes them
    /// as JSON lines <c>{"prompt": x, "response": y}</c>. A seed fixes the draws. Returns the sampling-oracle calls spent.
    /// </summary>
    public static long WriteOutputSamples(RunOutcome outcome, long count, ulong seed, TextWriter writer, CancellationToken cancellationToken = default)
    {
        if (outcome.Token is not null) return TokenRunner.WriteOutputSamples(outcome.Token, count, seed, writer, cancellationToken);
        var rng = new Rng(seed).Split("output-samples");
        var environment = new EnumerableEnvironment(outcome.Instance!, new Meter(), rng.Split(RunStreams.Noise));
        var line = new System.Text.StringBuilder();
        for (long i = 0; i < count; i++)
        {
            if ((i & 0xFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var x = environment.DrawPrompt(rng);
            var draw = outcome.Policy!.Sample(environment, x, rng);
            line.Clear().Append("{\"prompt\": ").Append(x.Index).Append(", \"response\": ").Append(draw.Response.Index).Append('}');
            writer.WriteLine(line);
        }
        return environment.Meter.TComp;
    }
}

/// <summary>A finished run: its result, the output policy it produced and the instance it ran on (for a token-level run,
/// <see cref="Token"/> holds them instead and <paramref name="Policy"/>, <paramref name="Instance"/> are null).</summary>
public sealed record RunOutcome(RunResult Result, Policies.IOutputPolicy? Policy, EnumerableInstance? Instance)
{
    /// <summary>The token-level policy and autoregressive instance of a token-level run, else null.</summary>
    public TokenRunOutput? Token { get; init; }
}
