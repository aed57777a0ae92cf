using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// SpannerSampling (paper, Thm 3.1; SPEC §3.1), read top to bottom in <see cref="Run"/>:
/// <list type="number">
/// <item>Phase 1 — spanner: for each of up to T_span prompts, try up to K_span pairs y1, y2 ~ π_ref; the
/// first pair whose relative feature v = φ(y1) − φ(y2) has ‖v‖_{Σ⁻¹} &gt; ν is rewarded, added to D and
/// to Σ. Failed pairs cost compute only — no reward is queried for them. Anytime stopping (our design):
/// a prompt whose K_span pairs all fail ends Phase 1.</item>
/// <item>Phase 2 — exploration with Σ_span frozen: θ_t = ridge LS on D, anchor y2 ~ π_ref, truncated
/// score f(y) = ⟨θ_t, φ(y) − φ(y2)⟩·1[‖φ(y) − φ(y2)‖_{Σ_span⁻¹} ≤ ν], y1 ~ SoftmaxSampler(f; β, M_rej, δ_rej),
/// reward both, add to D.</item>
/// <item>Output: θ̂ = ridge LS on D; the policy draws an anchor y' ~ π_ref and returns SoftmaxSampler(f_θ̂,y')
/// (<see cref="AnchoredTruncatedPolicy"/>).</item>
/// </list>
/// Every knob is an algo-param; unset knobs are derived by <see cref="Derive"/> from (d, β, R_max, ε, δ),
/// an optional <c>coverage-hint</c> and, without a hint, the compute budget (docs/ALGORITHMS.md).
/// </summary>
public sealed class SpannerSampling : IEnumerableAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "spanner";

    /// <summary>Default informativeness threshold ν (SPEC's prototype value; O(1) as in the paper).</summary>
    public const double DefaultNu = 0.5;
    /// <summary>Default ridge λ: small next to one pair (|v|² ≈ 0.5–1), so one observation in a direction
    /// already dominates the prior there (shrinkage ≤ 2%); it enters the spanner size only through log(1/λν²).</summary>
    public const double DefaultLambda = 0.01;
    /// <summary>Default share of the compute budget that Phase 1 may use (the rest pays for M_rej).</summary>
    public const double DefaultSpannerShare = 0.25;
    /// <summary>Planned sampling-oracle calls per exploration round, in units of M_rej: 1 anchor + m = M normalizer
    /// samples + ≈ M·Ẑ/Z expected proposals ≈ 2M, doubled for slack so the normal path ends inside the budget.</summary>
    public const double RoundCostInM = 4;
    /// <summary>M_rej = this × coverage-hint: the target's coverage is C_cov(π*)·e^{O(error)/β}, so a factor 2 of slack.</summary>
    public const double CoverageSlack = 2;
    /// <summary>Coverage assumed when neither a coverage-hint nor a compute budget is given: min(e^{2R_max/β}, this).</summary>
    public const double FallbackCoverageCap = 1e3;

    private readonly LearningTarget _target;
    private readonly double? _coverageHint, _nu, _lambda, _rejectionCoverage, _rejectionDelta, _spannerShare;
    private readonly long? _spannerPrompts, _candidatePairs, _explorationRounds;
    private readonly bool _anytime;

    /// <summary>Reads and validates the algo-params (unknown keys or bad values → <see cref="Experiments.InputException"/>).</summary>
    public SpannerSampling(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = new AlgorithmParameters(AlgorithmName, algoParams);
        _target = LearningTarget.Read(p);
        _coverageHint = p.Real("coverage-hint", 1, 1e300);
        _nu = p.Real("nu", 0, 1e6, minExclusive: true);
        _lambda = p.Real("lambda", 0, 1e6, minExclusive: true);
        _spannerPrompts = p.Integer("spanner-prompts", 0, int.MaxValue);
        _candidatePairs = p.Integer("candidate-pairs", 1, long.MaxValue / 4);
        _explorationRounds = p.Integer("exploration-rounds", 0, int.MaxValue);
        _rejectionCoverage = p.Real("rejection-coverage", 1, 1e15);
        _rejectionDelta = p.Real("rejection-delta", 0, 1, minExclusive: true, maxExclusive: true);
        _spannerShare = p.Real("spanner-share", 0, 1, minExclusive: true, maxExclusive: true);
        _anytime = p.Boolean("anytime") ?? true;
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <summary>
    /// The parameters a run will use, each either given or derived:
    /// ν = 0.5, λ = 0.01; T_span = the elliptical-potential bound on |Ψ|;
    /// T_exp = ⌈c·d·R_max²/(β·min(ε,β))⌉ (∝ 1/ε; see <see cref="LearningTarget.SampleSizeConstant"/>);
    /// with a coverage hint C: K_span = ⌈C·ln(1/δ)·R_max/ε⌉ and M_rej = 2C;
    /// otherwise with a compute budget B: Phase 1 may spend B₁ = B/4, K_span = ⌊B₁/4⌋ (a full failure streak costs
    /// half of B₁) and M_rej is set at the start of Phase 2 from what is left (see <see cref="RejectionCoverageFor"/>);
    /// with neither, C = min(e^{2R_max/β}, 10³) is assumed as the hint. δ_rej = δ.
    /// </summary>
    public SpannerSettings Derive(int d, double beta, long? budgetComp)
    {
        double nu = _nu ?? DefaultNu;
        double lambda = _lambda ?? DefaultLambda;
        long spannerPrompts = _spannerPrompts ?? EllipticPotentialBound(d, lambda, nu);
        long explorationRounds = _explorationRounds ?? _target.InformativePairs(d, beta);
        double share = _spannerShare ?? DefaultSpannerShare;
        double? hint = _coverageHint;
        bool coverageAssumed = false;
        if (hint is null && budgetComp is null)
        {
            hint = Math.Min(Math.Exp(Math.Min(700, 2 * _target.RMax / beta)), FallbackCoverageCap);
            coverageAssumed = true;
        }
        long? phase1Compute = budgetComp is long b ? (long)(share * b) : null;
        long candidatePairs = _candidatePairs
            ?? (hint is double c
                ? (long)Math.Min(long.MaxValue / 4, Math.Ceiling(c * Math.Log(1 / _target.Delta) * _target.RMax / _target.Epsilon))
                : Math.Max(1, phase1Compute!.Value / 4));
        double? rejectionCoverage = _rejectionCoverage ?? (hint is double h ? Math.Max(1, CoverageSlack * h) : null);
        return new SpannerSettings(_target, nu, lambda, spannerPrompts, candidatePairs, explorationRounds,
            rejectionCoverage, _rejectionDelta ?? _target.Delta, phase1Compute, _anytime, hint, coverageAssumed);
    }

    /// <summary>M_rej when it is set by the compute budget: what is left after Phase 1, spread over T_exp rounds of
    /// ≈ <see cref="RoundCostInM"/>·M calls each: M = max(1, remaining/(4·T_exp)).</summary>
    public static double RejectionCoverageFor(long remainingComp, long explorationRounds) =>
        Math.Max(1, Math.Min(1e15, remainingComp / (RoundCostInM * Math.Max(1, explorationRounds))));

    /// <summary>
    /// The largest n with n·min(1,ν²) ≤ 2d·ln(1 + n·L²/(dλ)), L = 2 (relative features of unit-norm φ):
    /// the elliptical-potential bound on the number of pairs whose norm can exceed ν.
    /// </summary>
    public static long EllipticPotentialBound(int d, double lambda, double nu)
    {
        double gain = Math.Min(1, nu * nu);
        bool Fits(double n) => n * gain <= 2 * d * Math.Log(1 + n * 4 / (d * lambda));
        double lo = 1, hi = 2;
        while (Fits(hi) && hi < 1e9) { lo = hi; hi *= 2; }
        while (hi - lo > 1)
        {
            double mid = Math.Floor((lo + hi) / 2);
            if (Fits(mid)) lo = mid; else hi = mid;
        }
        return (long)lo;
    }

    /// <inheritdoc />
    public AlgorithmOutput Run(EnumerableEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var env = environment;
        var meter = env.Meter;
        int d = env.Dimension;
        double beta = env.Beta;
        var s = Derive(d, beta, meter.BudgetComp);
        double nuSquared = s.Nu * s.Nu;

        var sigma = new EllipticNorm(d, s.Lambda);         // Σ = λI + Σ_{Ψ} v vᵀ
        var ridge = new RidgeRegression(d, s.Lambda);      // least squares on D
        var theta = new double[d];
        var v = new double[d];
        var phi1 = new double[d];
        var phi2 = new double[d];
        var phase1Rng = rng.Split("phase1");
        var phase2Rng = rng.Split("phase2");

        var status = RunStatus.Ok;
        long phase1Pairs = 0, spannerSize = 0, explorationDone = 0, samplerFailures = 0, samplerCalls = 0;
        double phase1Stop = 0;          // 1 = failure streak (anytime), 2 = T_span reached, 3 = compute share spent
        double rejectionCoverage = s.RejectionCoverage ?? double.NaN;
        long phase1ComputeEnd = s.Phase1Compute is long share ? meter.TComp + share : long.MaxValue;
        SoftmaxSampler? sampler = null;
        try
        {
            // ---------------- Phase 1: spanner ----------------
            phase1Stop = 2;
            for (long t = 0; t < s.SpannerPrompts; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int x = env.DrawPrompt(phase1Rng);
                bool informative = false;
                for (long k = 0; k < s.CandidatePairs; k++)
                {
                    // Phase 1 ran out of its compute share before the anytime test passed: the budget, not the test,
                    // ended the spanner, so the run reports budget_exhausted (it still explores with what is left).
                    if (meter.TComp + 2 > phase1ComputeEnd) { phase1Stop = 3; status = RunStatus.BudgetExhausted; goto phase2; }
                    if ((phase1Pairs & 0xFFFF) == 0xFFFF) cancellationToken.ThrowIfCancellationRequested();
                    int y1 = env.Sample(x, phase1Rng);
                    int y2 = env.Sample(x, phase1Rng);
                    phase1Pairs++;
                    Difference(env.FeatureRow(x, y1), env.FeatureRow(x, y2), v);
                    if (sigma.NormSquared(v) <= nuSquared) continue;   // covered: no reward query
                    if (meter.RemainingData < 2) { status = RunStatus.BudgetExhausted; goto output; }
                    double r1 = env.Query(x, y1);
                    double r2 = env.Query(x, y2);
                    ridge.Add(v, r1 - r2);
                    sigma.Add(v);
                    spannerSize++;
                    informative = true;
                    break;
                }
                progress?.Report(0.1 * (t + 1) / s.SpannerPrompts);
                if (!informative && s.Anytime) { phase1Stop = 1; break; }
            }

        phase2:
            // ---------------- Phase 2: exploration with Σ_span frozen ----------------
            progress?.Report(0.1);
            if (double.IsNaN(rejectionCoverage))
                rejectionCoverage = RejectionCoverageFor(meter.RemainingComp, s.ExplorationRounds);
            sampler = new SoftmaxSampler(beta, rejectionCoverage, s.RejectionDelta);
            var sigmaSpanInverse = sigma.Inverse.ToArray();   // Σ_span⁻¹, frozen
            var scratch = new double[d];
            for (long t = 0; t < s.ExplorationRounds; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (meter.RemainingData < 2) { status = RunStatus.BudgetExhausted; break; }
                int x = env.DrawPrompt(phase2Rng);
                ridge.Solve(theta);                                   // θ_t = ridge LS on D
                int y2 = env.Sample(x, phase2Rng);                    // anchor y2 ~ π_ref
                env.Features(x, y2, phi2);
                var f = new TruncatedAnchoredScore(env, x, theta, phi2, sigmaSpanInverse, nuSquared, scratch);
                var draw = sampler.Sample(x, env, f, phase2Rng);      // y1 ~ π_ref·exp(f/β), capped at M_rej
                samplerCalls++;
                if (draw.Failed) samplerFailures++;
                int y1 = draw.Response;
                double r1 = env.Query(x, y1);
                double r2 = env.Query(x, y2);
                env.Features(x, y1, phi1);
                Difference(phi1, phi2, v);
                ridge.Add(v, r1 - r2);
                explorationDone++;
                progress?.Report(0.1 + 0.9 * (t + 1) / s.ExplorationRounds);
            }
        }
        catch (BudgetExhaustedException)
        {
            status = RunStatus.BudgetExhausted;
        }

    output:
        // ---------------- Output: θ̂ = ridge LS on D, truncated anchored sampler ----------------
        ridge.Solve(theta);
        if (double.IsNaN(rejectionCoverage)) rejectionCoverage = RejectionCoverageFor(Math.Max(0, meter.RemainingComp), s.ExplorationRounds);
        sampler ??= new SoftmaxSampler(beta, rejectionCoverage, s.RejectionDelta);
        var policy = new AnchoredTruncatedPolicy(theta, sigma.Inverse, s.Nu, sampler, rng.Split("output").Seed);
        var diagnostics = new Dictionary<string, double>
        {
            ["spanner_size"] = spannerSize,
            ["phase1_pairs"] = phase1Pairs,
            ["phase1_stop"] = phase1Stop,
            ["exploration_rounds"] = explorationDone,
            ["sampler_failures"] = samplerFailures,
            ["sampler_calls"] = samplerCalls,
            ["nu"] = s.Nu,
            ["lambda"] = s.Lambda,
            ["spanner_prompts_max"] = s.SpannerPrompts,
            ["candidate_pairs"] = s.CandidatePairs,
            ["exploration_rounds_planned"] = s.ExplorationRounds,
            ["rejection_coverage"] = rejectionCoverage,
            ["rejection_delta"] = s.RejectionDelta,
            ["epsilon"] = s.Target.Epsilon,
            ["delta"] = s.Target.Delta,
            ["rmax_assumed"] = s.Target.RMax,
        };
        if (s.CoverageHint is double hint) diagnostics[s.CoverageAssumed ? "coverage_assumed" : "coverage_hint"] = hint;
        progress?.Report(1);
        return new AlgorithmOutput(policy, status, diagnostics);
    }

    private static void Difference(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> result)
    {
        for (int i = 0; i < result.Length; i++) result[i] = a[i] - b[i];
    }
}

/// <summary>The parameters of one SpannerSampling run (given or derived; see <see cref="SpannerSampling.Derive"/>).</summary>
/// <param name="Target">ε, δ, R_max.</param>
/// <param name="Nu">ν, informativeness threshold.</param>
/// <param name="Lambda">λ, ridge and initial Σ = λI.</param>
/// <param name="SpannerPrompts">T_span, maximum spanner prompts.</param>
/// <param name="CandidatePairs">K_span, candidate pairs per spanner prompt (and the anytime failure streak).</param>
/// <param name="ExplorationRounds">T_exp.</param>
/// <param name="RejectionCoverage">M_rej, or null to set it from the remaining compute budget at the start of Phase 2.</param>
/// <param name="RejectionDelta">δ_rej.</param>
/// <param name="Phase1Compute">Sampling-oracle calls Phase 1 may spend, or null (no compute budget).</param>
/// <param name="Anytime">Whether a prompt whose K_span pairs all fail ends Phase 1.</param>
/// <param name="CoverageHint">The coverage hint used (given or assumed), or null (budget-driven).</param>
/// <param name="CoverageAssumed">True if the hint is the fallback, not the user's.</param>
public sealed record SpannerSettings(LearningTarget Target, double Nu, double Lambda, long SpannerPrompts, long CandidatePairs,
    long ExplorationRounds, double? RejectionCoverage, double RejectionDelta, long? Phase1Compute, bool Anytime,
    double? CoverageHint, bool CoverageAssumed);
