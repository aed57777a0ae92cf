using LmExplore.Evaluation;

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

/// <summary>Which run a result belongs to: the request as written, reduced to what results files key on.</summary>
/// <param name="Instance">Instance name (family and parameters, the file name, or <c>text:TASK</c>).</param>
/// <param name="Algorithm">Algorithm name.</param>
/// <param name="Seed">The run seed.</param>
/// <param name="Epsilon">The ε the algorithm was asked to reach.</param>
public sealed record RunIdentity(string Instance, string Algorithm, ulong Seed, double Epsilon);

/// <summary>What the problem is, independently of the algorithm: β, d and its exact values where they are known (NaN where
/// they are not, as for a text task whose r* is unknown).</summary>
/// <param name="Beta">β.</param>
/// <param name="D">Feature dimension d.</param>
/// <param name="JOpt">J_β(π*).</param>
/// <param name="JRef">J_β(π_ref).</param>
/// <param name="CCov">C_cov(π*).</param>
/// <param name="CCond">C_cond(π*) for autoregressive instances, else null.</param>
public sealed record ProblemValues(double Beta, int D, double JOpt, double JRef, double CCov, double? CCond);

/// <summary>What the run paid: the meter's counts.</summary>
/// <param name="TData">Reward queries.</param>
/// <param name="TComp">Sampling-oracle calls (normalizer, pilot and enumeration charges included).</param>
/// <param name="TTokens">Token-oracle calls.</param>
public sealed record RunCosts(long TData, long TComp, long TTokens);

/// <summary>How good the output is, measured on the law of its sampler as a user would draw from it.</summary>
/// <param name="Kind">Exact, Monte Carlo (with an interval) or none.</param>
/// <param name="JOut">J_β of the output sampler's law (NaN where r* is unknown).</param>
/// <param name="Suboptimality">J_opt − J_out.</param>
/// <param name="CiLow">Lower end of a 95 % interval for the suboptimality when it is estimated, else null.</param>
/// <param name="CiHigh">Upper end of that interval, else null.</param>
/// <param name="SuboptimalityTarget">J_opt − J of the sampler's idealized target (diagnostic).</param>
/// <param name="ExpectedReward">E_{x~ρ, y~output}[r*(x,y)] (for a text task: the mean verifier reward of the draws).</param>
/// <param name="ReachedEpsilon">Suboptimality ≤ ε (for an estimate: its whole interval).</param>
/// <param name="SampleCost">Expected sampling-oracle calls to draw one response from the output.</param>
public sealed record RunEvaluation(EvaluationKind Kind, double JOut, double Suboptimality, double? CiLow, double? CiHigh,
    double SuboptimalityTarget, double ExpectedReward, bool ReachedEpsilon, double SampleCost);

/// <summary>
/// The result of one run — the JSON contract of docs/CLI.md — composed of the run's identity, the problem's values, the
/// costs, the evaluation of the output and the algorithm's and evaluation's diagnostics. Built by the run pipeline
/// (<see cref="RunPipeline"/>) and written and read by <see cref="RunResultJson"/>, nowhere else. The flat properties
/// below are the JSON fields, for readers that want one number.
/// </summary>
/// <param name="Run">Instance, algorithm, seed, ε.</param>
/// <param name="Status"><c>ok</c>, <c>budget_exhausted</c> or <c>error</c>.</param>
/// <param name="Problem">β, d, J_opt, J_ref, C_cov, C_cond.</param>
/// <param name="Costs">T_data, T_comp, T_tokens.</param>
/// <param name="Output">The evaluation of the output sampler.</param>
/// <param name="WallSeconds">Wall time of the run.</param>
/// <param name="Diagnostics">Algorithm and evaluation diagnostics, snake_case keys.</param>
public sealed record RunResult(RunIdentity Run, string Status, ProblemValues Problem, RunCosts Costs, RunEvaluation Output,
    double WallSeconds, IReadOnlyDictionary<string, double> Diagnostics)
{
    /// <summary>Instance name.</summary>
    public string Instance => Run.Instance;
    /// <summary>Algorithm name.</summary>
    public string Algorithm => Run.Algorithm;
    /// <summary>The run seed.</summary>
    public ulong Seed => Run.Seed;
    /// <summary>The ε the algorithm was asked to reach.</summary>
    public double Epsilon => Run.Epsilon;
    /// <summary>β.</summary>
    public double Beta => Problem.Beta;
    /// <summary>Feature dimension d.</summary>
    public int D => Problem.D;
    /// <summary>J_β(π*).</summary>
    public double JOpt => Problem.JOpt;
    /// <summary>J_β(π_ref).</summary>
    public double JRef => Problem.JRef;
    /// <summary>C_cov(π*).</summary>
    public double CCov => Problem.CCov;
    /// <summary>C_cond(π*), or null.</summary>
    public double? CCond => Problem.CCond;
    /// <summary>Reward queries spent.</summary>
    public long TData => Costs.TData;
    /// <summary>Sampling-oracle calls spent.</summary>
    public long TComp => Costs.TComp;
    /// <summary>Token-oracle calls spent.</summary>
    public long TTokens => Costs.TTokens;
    /// <summary>How the output was evaluated.</summary>
    public EvaluationKind Evaluation => Output.Kind;
    /// <summary>J_β of the output sampler's law.</summary>
    public double JOut => Output.JOut;
    /// <summary>J_opt − J_out.</summary>
    public double Suboptimality => Output.Suboptimality;
    /// <summary>Lower end of the suboptimality's interval, or null when exact.</summary>
    public double? SuboptimalityCiLow => Output.CiLow;
    /// <summary>Upper end of the suboptimality's interval, or null when exact.</summary>
    public double? SuboptimalityCiHigh => Output.CiHigh;
    /// <summary>J_opt − J of the sampler's idealized target.</summary>
    public double SuboptimalityTarget => Output.SuboptimalityTarget;
    /// <summary>E[r*] under the output.</summary>
    public double ExpectedRewardOut => Output.ExpectedReward;
    /// <summary>Whether the suboptimality (its whole interval, when estimated) is ≤ ε.</summary>
    public bool ReachedEpsilon => Output.ReachedEpsilon;
    /// <summary>Expected sampling-oracle calls per output draw.</summary>
    public double OutputSampleCost => Output.SampleCost;

    /// <summary>The record of a run that failed with a bug: status <c>error</c>, numbers NaN, nothing evaluated.</summary>
    public static RunResult Error(RunRequest request) => new(
        new RunIdentity(request.Instance, request.Algorithm, request.Seed, double.NaN), "error",
        new ProblemValues(double.NaN, 0, double.NaN, double.NaN, double.NaN, null), new RunCosts(0, 0, 0),
        new RunEvaluation(EvaluationKind.None, double.NaN, double.NaN, null, null, double.NaN, double.NaN, false, double.NaN),
        0, new Dictionary<string, double>());
}
