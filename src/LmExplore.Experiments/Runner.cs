using System.Diagnostics;
using LmExplore.Instances;
using LmExplore.Runs;
using LmExplore.Text;

namespace LmExplore.Experiments;

/// <summary>
/// Runs one <see cref="RunRequest"/> end to end: opens its problem (<see cref="OpenProblem"/>) and hands it to the
/// <see cref="RunPipeline"/>. This is the one place that knows every kind of problem: the core's (families and instance
/// files) and the language models' (text tasks, <c>text:TASK</c>).
/// </summary>
public static class Runner
{
    /// <summary>Runs the request. Throws <see cref="InputException"/> on bad input; never lets a budget exception escape.
    /// The same request gives the same result, wall_seconds aside.</summary>
    public static RunResult Run(RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        using var outcome = Execute(request, progress, cancellationToken);
        return outcome.Result;
    }

    /// <summary>Like <see cref="Run"/>, and also hands back the problem and the output policy, e.g. to draw from the
    /// output (<see cref="RunOutcome.WriteOutputSamples"/>). The caller disposes the outcome.</summary>
    public static RunOutcome Execute(RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var problem = OpenProblem(request);
        try
        {
            return RunPipeline.Execute(problem, request, progress, cancellationToken, clock);
        }
        catch
        {
            problem.Dispose();
            throw;
        }
    }

    /// <summary>Draws from a run's output exactly as a user would (see <see cref="Problem.WriteOutputSamples"/>).</summary>
    public static long WriteOutputSamples(RunOutcome outcome, long count, ulong seed, TextWriter writer, CancellationToken cancellationToken = default) =>
        outcome.WriteOutputSamples(count, seed, writer, cancellationToken);

    /// <summary>
    /// The problem a request names: a text task (<c>text:TASK</c>, docs/LANGUAGE-MODELS.md), an autoregressive instance
    /// (the chain family, <c>lmexplore.autoregressive/v1</c> files) or an enumerable one (the other families, instance
    /// files). A <c>seed</c> family parameter fixes the instance apart from the run seed.
    /// </summary>
    public static Problem OpenProblem(RunRequest request)
    {
        if (TextProblem.Handles(request.Instance)) return TextProblem.Open(request);
        var loaded = InstanceCatalog.CreateAny(request.Instance, request.InstanceParams, request.Seed, request.Normalize);
        return loaded.Autoregressive is { } autoregressive ? new AutoregressiveProblem(autoregressive) : new EnumerableProblem(loaded.Enumerable!);
    }
}
