using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// Best-of-N with the verifier, the RLVR baseline: for every prompt of the task's list, draw N responses from π_ref,
/// ask the verifier about each (N T_data and N T_comp per prompt, T_data = N·|X| in all), and answer the prompt with
/// the best one (the first best on ties). The output policy returns that answer (no oracle call). It needs the prompt
/// list (<see cref="IPromptSet"/>), so it runs on text tasks only. Parameter <c>n</c> (default 16); with a data budget
/// B and no <c>n</c>, N = ⌊B/|X|⌋.
/// </summary>
public sealed class BestOfN : IAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "bestofn";
    /// <summary>Default N.</summary>
    public const int DefaultN = 16;

    private readonly long? _n;

    /// <summary>Reads and validates the algo-params (<c>n</c>, and ε, δ, R_max for the record).</summary>
    public BestOfN(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, algoParams);
        Target = LearningTarget.Read(p);
        _n = p.IntegerOrNull("n", 1, 1_000_000);
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;
    /// <inheritdoc />
    public LearningTarget Target { get; }

    /// <inheritdoc />
    public AlgorithmOutput Run(ILearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        if (environment is not IPromptSet prompts)
            throw new InputException("bestofn needs a task with a list of prompts (run --task), not an instance");
        long n = _n ?? (environment.Meter.BudgetData is long b ? Math.Max(1, b / prompts.PromptCount) : DefaultN);
        var best = new Response?[prompts.PromptCount];
        var status = RunStatus.Ok;
        long answered = 0;
        try
        {
            for (int i = 0; i < prompts.PromptCount; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var x = prompts.PromptAt(i);
                double bestReward = double.NegativeInfinity;
                for (long k = 0; k < n; k++)
                {
                    var y = environment.Sample(x, rng);
                    double r = environment.Query(y);
                    if (r > bestReward) { bestReward = r; best[i] = y; }
                }
                answered++;
                progress?.Report((i + 1.0) / prompts.PromptCount);
            }
        }
        catch (BudgetExhaustedException)
        {
            status = RunStatus.BudgetExhausted;
        }
        var diagnostics = new Dictionary<string, double> { ["n"] = n, ["prompts_answered"] = answered, ["prompts"] = prompts.PromptCount };
        return new AlgorithmOutput(new BestOfNPolicy(best), status, diagnostics);
    }
}

/// <summary>The answers best-of-N chose; a prompt it never reached (budget) is answered by one π_ref sample. Its pass rate is
/// computed exactly by the text runner (one uncharged verifier call per prompt) when every prompt has an answer.</summary>
public sealed class BestOfNPolicy(Response?[] answers) : IOutputPolicy
{
    /// <summary>The chosen answer per prompt index (null: never reached).</summary>
    public IReadOnlyList<Response?> Answers => answers;

    /// <inheritdoc />
    public SamplerDraw Sample(ILearnerEnvironment environment, Prompt prompt, Rng rng) =>
        answers[prompt.Index] is Response y ? new SamplerDraw(y, false, 0) : new SamplerDraw(environment.Sample(prompt, rng), false, 1);

    /// <inheritdoc />
    public OutputLaw Law(EnumerableInstance instance) =>
        throw new NotSupportedException("best-of-N runs on text tasks only; its law is evaluated by Monte Carlo");
}
