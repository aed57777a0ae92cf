namespace LmExplore.Runs;

/// <summary>One run: an instance (family name or JSON file), an algorithm, parameters, seed and budgets.</summary>
/// <param name="Instance">A family name (<c>linear</c>, <c>needle</c>) or a path to a JSON instance file.</param>
/// <param name="InstanceParams">Family parameters (<c>--param k=v</c>); <c>seed</c> here fixes the instance independently of the run seed.</param>
/// <param name="Algorithm">Algorithm name (<c>spanner</c>, <c>passive</c>, …).</param>
/// <param name="AlgoParams">Algorithm parameters (<c>--algo-param k=v</c>).</param>
/// <param name="Seed">The run seed: fixes every random choice of the run.</param>
/// <param name="BudgetComp">Sampling-oracle budget (T_comp), or null.</param>
/// <param name="BudgetData">Reward-query budget (T_data), or null.</param>
/// <param name="BudgetTokens">Token budget (T_tokens), or null.</param>
/// <param name="Normalize">Rescale weights and probabilities of an instance file that do not sum to 1 (<c>--normalize</c>).</param>
public sealed record RunRequest(
    string Instance,
    IReadOnlyDictionary<string, string> InstanceParams,
    string Algorithm,
    IReadOnlyDictionary<string, string> AlgoParams,
    ulong Seed,
    long? BudgetComp = null,
    long? BudgetData = null,
    long? BudgetTokens = null,
    bool Normalize = false);

/// <summary>The result of one run: the JSON contract of docs/CLI.md (plus algorithm diagnostics).</summary>
/// <param name="Instance">Instance name (family and parameters, or the file name).</param>
/// <param name="Algorithm">Algorithm name.</param>
/// <param name="Seed">The run seed.</param>
/// <param name="Beta">β.</param>
/// <param name="D">Feature dimension d.</param>
/// <param name="Status"><c>ok</c>, <c>budget_exhausted</c> or <c>error</c>.</param>
/// <param name="TData">Reward queries spent.</param>
/// <param name="TComp">Sampling-oracle calls spent (normalizer, pilot and enumeration charges included).</param>
/// <param name="TTokens">Token-oracle calls spent.</param>
/// <param name="JOpt">J_β(π*).</param>
/// <param name="JRef">J_β(π_ref).</param>
/// <param name="JOut">J_β of the output sampler's law.</param>
/// <param name="Suboptimality">J_opt − J_out, J_out the value of the output sampler's law as a user would draw it.</param>
/// <param name="SuboptimalityCiLow">Lower end of a 95 % interval when <paramref name="Evaluation"/> is Monte Carlo, else null.</param>
/// <param name="SuboptimalityCiHigh">Upper end of that interval, else null.</param>
/// <param name="SuboptimalityTarget">J_opt − J of the sampler's idealized target (diagnostic).</param>
/// <param name="ExpectedRewardOut">E_{x~ρ, y~output}[r*(x,y)].</param>
/// <param name="Epsilon">The ε the algorithm was asked to reach.</param>
/// <param name="ReachedEpsilon">Suboptimality ≤ ε (for a Monte Carlo estimate: its whole interval).</param>
/// <param name="Evaluation"><c>exact</c> or <c>monte_carlo</c>.</param>
/// <param name="OutputSampleCost">Expected sampling-oracle calls to draw one response from the output.</param>
/// <param name="CCov">C_cov(π*).</param>
/// <param name="CCond">C_cond(π*) for autoregressive instances, else null.</param>
/// <param name="WallSeconds">Wall time of the run.</param>
/// <param name="Diagnostics">Algorithm and evaluation diagnostics, snake_case keys.</param>
public sealed record RunResult(
    string Instance,
    string Algorithm,
    ulong Seed,
    double Beta,
    int D,
    string Status,
    long TData,
    long TComp,
    long TTokens,
    double JOpt,
    double JRef,
    double JOut,
    double Suboptimality,
    double? SuboptimalityCiLow,
    double? SuboptimalityCiHigh,
    double SuboptimalityTarget,
    double ExpectedRewardOut,
    double Epsilon,
    bool ReachedEpsilon,
    string Evaluation,
    double OutputSampleCost,
    double CCov,
    double? CCond,
    double WallSeconds,
    IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>Thrown for bad user input (files, parameters, flags). The CLI prints its one-line message and exits with code 2.</summary>
public sealed class InputException(string message) : Exception(message);
