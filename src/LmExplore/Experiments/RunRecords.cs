namespace LmExplore.Experiments;

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

/// <summary>The result of one run: the JSON contract of SPEC §5 (plus algorithm diagnostics).</summary>
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
    double OutputSampleCost,
    double CCov,
    double? CCond,
    double WallSeconds,
    IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>Thrown for bad user input (files, parameters, flags). The CLI prints its one-line message and exits with code 2.</summary>
public sealed class InputException(string message) : Exception(message);
