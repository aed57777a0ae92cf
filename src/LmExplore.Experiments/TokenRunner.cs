using LmExplore.Runs;
using System.Diagnostics;
using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Experiments;

/// <summary>The token-level policy of a finished token-level run and the autoregressive instance it ran on.</summary>
public sealed record TokenRunOutput(ITokenOutputPolicy Policy, AutoregressiveInstance Instance);

/// <summary>
/// Runs on autoregressive instances: token-level algorithms (MTSS) through the token oracle, evaluated exactly by DP over
/// (h, s) on the law of their output sampler as it runs (<see cref="TokenPolicyEvaluator"/>), for V^H far beyond
/// enumeration; and the enumerated sequence-level view for sequence-level algorithms.
/// </summary>
public static class TokenRunner
{
    /// <summary>The sequence-level (enumerable) form of an autoregressive instance, or a one-line input error when V^H is too large.</summary>
    public static EnumerableInstance Enumerate(AutoregressiveInstance inst)
    {
        if (Math.Pow(inst.Vocab, inst.Horizon) > InstanceCatalog.MaxEnumeratedSequences)
            throw new InputException($"{inst.Name}: vocab^horizon = {inst.Vocab}^{inst.Horizon} sequences are too many for a sequence-level (enumerable) instance (limit {InstanceCatalog.MaxEnumeratedSequences}); this needs a token-level algorithm (mtss)");
        return inst.ToEnumerable(InstanceCatalog.MaxEnumeratedSequences);
    }

    /// <summary>Runs a token-level algorithm end to end (called by <see cref="Runner.Execute"/>).</summary>
    internal static RunOutcome Execute(RunRequest request, Stopwatch clock, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var algorithm = AlgorithmCatalog.CreateTokenLevel(request.Algorithm, request.AlgoParams);
        var loaded = InstanceCatalog.CreateAny(request.Instance, request.InstanceParams, request.Seed, request.Normalize);
        var inst = loaded.Autoregressive ?? throw new InputException(
            $"{request.Instance}: {algorithm.Name} is token-level and needs an autoregressive instance (the chain family or an lmexplore.autoregressive/v1 file)");
        if (request.BudgetComp is not null)
            throw new InputException($"{algorithm.Name} draws tokens, not sequences: give --budget-tokens instead of --budget-comp");

        var meter = new Meter(request.BudgetData, null, request.BudgetTokens);
        var root = new Rng(request.Seed);
        var environment = new AutoregressiveTokenEnvironment(inst, meter, root.Split(RunStreams.Noise), algorithm.UsesDistributions);
        TokenAlgorithmOutput output;
        try
        {
            output = algorithm.Run(environment, root.Split(RunStreams.Algorithm), progress, cancellationToken);
        }
        catch (BudgetExhaustedException e)
        {
            throw new InvalidOperationException($"{algorithm.Name} let a budget exception escape", e);
        }

        var law = output.Policy.Law(inst);
        var value = TokenPolicyEvaluator.Evaluate(inst, law);
        var target = TokenPolicyEvaluator.Evaluate(inst, output.Policy.TargetLaw(inst));
        double jOpt = AutoregressiveEvaluator.OptimalValue(inst);
        double suboptimality = jOpt - value.J;
        var diagnostics = new Dictionary<string, double>(output.Diagnostics, StringComparer.Ordinal);
        foreach (var (key, v) in law.Diagnostics) diagnostics[key] = v;
        diagnostics["kl_to_optimal"] = value.KlToOptimal;
        diagnostics["kl_to_ref"] = value.KlToRef;
        diagnostics["average_coverage"] = AutoregressiveEvaluator.AverageCoverageOfOptimal(inst);
        diagnostics["log_C_cov"] = AutoregressiveEvaluator.LogCoverageOfOptimal(inst);
        diagnostics["horizon"] = inst.Horizon;
        diagnostics["vocab"] = inst.Vocab;

        var result = new RunResult(
            Instance: inst.Name,
            Algorithm: algorithm.Name,
            Seed: request.Seed,
            Beta: inst.Beta,
            D: environment.Dimension,
            Status: output.Status == RunStatus.Ok ? "ok" : "budget_exhausted",
            TData: meter.TData,
            TComp: meter.TComp,
            TTokens: meter.TTokens,
            JOpt: jOpt,
            JRef: AutoregressiveEvaluator.ReferenceValue(inst),
            JOut: value.J,
            Suboptimality: suboptimality,
            SuboptimalityCiLow: null,
            SuboptimalityCiHigh: null,
            SuboptimalityTarget: jOpt - target.J,
            ExpectedRewardOut: value.ExpectedReward,
            Epsilon: algorithm.Target.Epsilon,
            ReachedEpsilon: suboptimality <= algorithm.Target.Epsilon,
            Evaluation: "exact",
            OutputSampleCost: value.ExpectedCalls,
            CCov: AutoregressiveEvaluator.CoverageOfOptimal(inst),
            CCond: AutoregressiveEvaluator.ConditionalCoverageOfOptimal(inst),
            WallSeconds: clock.Elapsed.TotalSeconds,
            Diagnostics: diagnostics);
        return new RunOutcome(result, null, null) { Token = new TokenRunOutput(output.Policy, inst) };
    }

    /// <summary>
    /// Draws <paramref name="count"/> responses from a token-level output exactly as a user would — x ~ ρ, then the
    /// output sampler through a fresh, unbudgeted token oracle — and writes JSON lines
    /// <c>{"prompt": x, "response": [a_1, …, a_H]}</c>. Returns the token calls spent.
    /// </summary>
    internal static long WriteOutputSamples(TokenRunOutput output, long count, ulong seed, TextWriter writer, CancellationToken cancellationToken)
    {
        var rng = new Rng(seed).Split("output-samples");
        var policy = output.Policy;
        bool distributions = policy is TruncatedTokenPolicy { UseDistributions: true };
        var environment = new AutoregressiveTokenEnvironment(output.Instance, new Meter(), rng.Split(RunStreams.Noise), distributions);
        var tokens = new int[output.Instance.Horizon];
        var line = new System.Text.StringBuilder();
        for (long i = 0; i < count; i++)
        {
            if ((i & 0xFF) == 0) cancellationToken.ThrowIfCancellationRequested();
            var x = environment.DrawPrompt(rng);
            policy.Sample(environment, x, rng, tokens);
            line.Clear().Append("{\"prompt\": ").Append(x.Index).Append(", \"response\": [");
            for (int h = 0; h < tokens.Length; h++) line.Append(h == 0 ? "" : ", ").Append(tokens[h]);
            writer.WriteLine(line.Append("]}"));
        }
        return environment.Meter.TTokens;
    }
}
