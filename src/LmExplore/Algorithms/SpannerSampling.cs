using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// SpannerSampling (paper, Thm 3.1), read top to bottom in <see cref="Run"/>:
/// <list type="number">
/// <item>Phase 1 — spanner: for each of up to T_span prompts, try up to K_span pairs y1, y2 ~ π_ref; the
/// first pair whose relative feature v = φ(y1) − φ(y2) has ‖v‖_{Σ⁻¹} &gt; ν is rewarded, added to D and
/// to Σ. Failed pairs cost compute only — no reward is queried for them. Anytime stopping (our design):
/// a prompt whose K_span pairs all fail ends Phase 1.</item>
/// <item>Coverage estimate (our design): M = slack·M̂, M̂ the empirical coverage of π_θ̂ on the π_ref samples
/// Phase 1 already paid for (<see cref="SampleLog"/>); it sizes the rejection sampler.</item>
/// <item>Phase 2 — exploration with Σ_span frozen: θ_t = ridge LS on D, anchor y2 ~ π_ref, truncated
/// score f(y) = ⟨θ_t, φ(y) − φ(y2)⟩·1[‖φ(y) − φ(y2)‖_{Σ_span⁻¹} ≤ ν], y1 ~ EnvelopeSampler(f; β, M), reward both,
/// add to D — for T_exp rounds, or as many as the compute budget pays for.</item>
/// <item>Output: θ̂ = ridge LS on D; the policy draws an anchor y' ~ π_ref and returns EnvelopeSampler(f_θ̂,y')
/// (<see cref="AnchoredTruncatedPolicy"/>), sized by M re-estimated with θ̂.</item>
/// </list>
/// Every knob is an algo-param; unset knobs are derived by <see cref="Derive"/> from (d, β, R_max, ε, δ),
/// an optional <c>coverage-hint</c> and, without a hint, the compute budget (docs/ALGORITHMS.md).
/// </summary>
public sealed class SpannerSampling : IAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "spanner";

    /// <summary>Default informativeness threshold ν (O(1) as in the paper).</summary>
    public const double DefaultNu = 0.5;
    /// <summary>Default ridge λ: small next to one pair (|v|² ≈ 0.5–1), so one observation in a direction
    /// already dominates the prior there (shrinkage ≤ 2%); it enters the spanner size only through log(1/λν²).</summary>
    public const double DefaultLambda = 0.01;
    /// <summary>Default share of the compute budget that Phase 1 may use; the rest pays for exploration rounds.</summary>
    public const double DefaultSpannerShare = 0.5;
    /// <summary>M = this × the coverage estimate (or hint): the estimate comes from a handful of sightings of the rarest
    /// good response, and an M below the target's coverage caps the output.</summary>
    public const double DefaultCoverageSlack = 2;
    /// <summary>Coverage assumed for K_span when neither a coverage-hint nor a compute budget is given: min(e^{2R_max/β}, this).</summary>
    public const double FallbackCoverageCap = 1e3;
    /// <summary>A round is started only if the budget left pays for this many times its expected cost (1 + m + M).</summary>
    public const double RoundCostSlack = 1.5;
    /// <summary>Largest planned work (oracle calls, each weighted by the d² of its norm test or score) a run may imply; a
    /// plan beyond it could not finish in reasonable time, so it is refused before any oracle call (≈ 10 minutes at
    /// a few 10⁸ simple operations per second).</summary>
    public const double MaxPlannedWork = 2e11;
    /// <summary>Largest ‖v‖²_{Σ⁻¹} a spanner pair may have. Σ⁻¹ is kept explicitly and updated by Sherman–Morrison,
    /// whose relative rounding error along v is ≈ 1e-16·(1 + ‖v‖²_{Σ⁻¹}); beyond this bound (features of norm ≳ 1e7
    /// with λ = 0.01, or λ ≲ 1e-15 with unit features) it swamps Σ⁻¹ — the truncation test becomes noise and Σ_span⁻¹
    /// may not even stay positive definite — so the run stops with an input error naming the cause.</summary>
    public const double MaxSpannerNormSquared = 1e15;

    private readonly double? _coverageHint, _nu, _lambda, _rejectionCoverage, _pilotMiss, _spannerShare, _coverageSlack;
    private readonly long? _spannerPrompts, _candidatePairs, _explorationRounds;
    private readonly bool _anytime;

    /// <summary>Reads and validates the algo-params (unknown keys or bad values → <see cref="InputException"/>).</summary>
    public SpannerSampling(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, algoParams);
        Target = LearningTarget.Read(p);
        _coverageHint = p.RealOrNull("coverage-hint", 1, 1e12);
        _nu = p.RealOrNull("nu", 0, 1e6, minExclusive: true);
        _lambda = p.RealOrNull("lambda", 0, 1e6, minExclusive: true);
        _spannerPrompts = p.IntegerOrNull("spanner-prompts", 0, int.MaxValue);
        _candidatePairs = p.IntegerOrNull("candidate-pairs", 1, (long)1e12);
        _explorationRounds = p.IntegerOrNull("exploration-rounds", 0, int.MaxValue);
        _rejectionCoverage = p.RealOrNull("rejection-coverage", 1, 1e10);
        _pilotMiss = p.RealOrNull("pilot-miss", 0, 0.5, minExclusive: true);
        _coverageSlack = p.RealOrNull("coverage-slack", 1, 1e6);
        _spannerShare = p.RealOrNull("spanner-share", 0, 1, minExclusive: true, maxExclusive: true);
        _anytime = p.Boolean("anytime", true);
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public LearningTarget Target { get; }

    /// <summary>
    /// The parameters a run will use, each either given or derived:
    /// ν = 0.5, λ = 0.01; T_span = the elliptical-potential bound on |Ψ|;
    /// T_exp = ⌈c·d·R_max²/(β·min(ε,β))⌉ (see <see cref="LearningTarget.SampleSizeConstant"/>), capped at run time by
    /// what the compute budget pays for;
    /// with a coverage hint C: K_span = ⌈(C/2)·ln(T_span/δ)⌉ (a response of π_ref-mass 1/C is in a pair with probability
    /// ≈ 2/C, so each of up to T_span searches misses it with probability ≤ δ/T_span) and M = slack·C;
    /// otherwise with a compute budget B: Phase 1 may spend B₁ = B/2 and K_span = ⌊B₁/4⌋ (a full failure streak costs
    /// half of B₁); with neither, C = min(e^{2R_max/β}, 10³) is assumed for K_span.
    /// Without a hint, M = slack·M̂ from the samples already drawn. The pilot miss probability η = ε/(2·R_max).
    /// </summary>
    public SpannerSettings Derive(int d, double beta, long? budgetComp)
    {
        double nu = _nu ?? DefaultNu;
        double lambda = _lambda ?? DefaultLambda;
        long spannerPrompts = _spannerPrompts ?? EllipticPotentialBound(d, lambda, nu);
        long explorationRounds = _explorationRounds ?? Target.InformativePairs(d, beta);
        double share = _spannerShare ?? DefaultSpannerShare;
        double slack = _coverageSlack ?? DefaultCoverageSlack;
        double? hint = _coverageHint;
        bool coverageAssumed = false;
        if (hint is null && budgetComp is null)
        {
            hint = Math.Min(Math.Exp(Math.Min(700, 2 * Target.RMax / beta)), FallbackCoverageCap);
            coverageAssumed = true;
        }
        long? phase1Compute = budgetComp is long b ? (long)(share * b) : null;
        long candidatePairs = _candidatePairs
            ?? (hint is double c
                ? (long)Math.Min(1e12, Math.Ceiling(c / 2 * Math.Log(Math.Max(2, spannerPrompts) / Target.Delta)))
                : Math.Max(1, phase1Compute!.Value / 4));
        double? rejectionCoverage = _rejectionCoverage ?? (hint is double h && !coverageAssumed ? Math.Max(1, slack * h) : null);
        double pilotMiss = _pilotMiss ?? Target.DefaultPilotMiss;
        return new SpannerSettings(Target, nu, lambda, spannerPrompts, candidatePairs, explorationRounds,
            rejectionCoverage, slack, pilotMiss, phase1Compute, _anytime, hint, coverageAssumed);
    }

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
    public AlgorithmOutput Run(ILearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var log = new SampleLog();
        var env = new RecordingEnvironment(environment, log);
        var meter = env.Meter;
        int d = env.Dimension;
        double beta = env.Beta;
        var s = Derive(d, beta, meter.BudgetComp);
        CheckPlan(s, d, meter.BudgetComp);
        double nuSquared = s.Nu * s.Nu;

        var sigma = new EllipticNorm(d, s.Lambda);         // Σ = λI + Σ_{Ψ} v vᵀ
        var ridge = new RidgeRegression(d, s.Lambda);      // least squares on D
        var theta = new double[d];
        var v = new double[d];
        var scan = new SpannerPairScan(d, log);           // samples from the environment itself and records in the log
        var phi2 = new double[d];
        var phase1Rng = rng.Split("phase1");
        var phase2Rng = rng.Split("phase2");

        var status = RunStatus.Ok;
        long phase1Pairs = 0, spannerSize = 0, explorationDone = 0, samplerFailures = 0, samplerCalls = 0;
        double phase1Stop = 0;          // 1 = failure streak (anytime), 2 = T_span reached, 3 = compute share spent, 4 = reward budget spent
        double phase2Stop = 0;          // 1 = T_exp rounds done, 2 = the budget could not pay for another round
        double coverage = s.RejectionCoverage ?? double.NaN;
        long phase1ComputeEnd = s.Phase1Compute is long share ? meter.TComp + share : long.MaxValue;
        try
        {
            // ---------------- Phase 1: spanner ----------------
            phase1Stop = 2;
            for (long t = 0; t < s.SpannerPrompts; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var x = env.DrawPrompt(phase1Rng);
                bool informative = false;
                // Candidate pairs until one is informative (scan.Scan draws them in blocks and tests a block at once).
                for (long k = 0; k < s.CandidatePairs;)
                {
                    // Phase 1 ran out of its compute share before the anytime test passed: the budget, not the test,
                    // ended the spanner, so the run reports budget_exhausted (it still explores with what is left).
                    long affordable = Math.Min(phase1ComputeEnd - meter.TComp, meter.RemainingComp) / 2;
                    if (affordable < 1) { phase1Stop = 3; status = RunStatus.BudgetExhausted; goto phase2; }
                    cancellationToken.ThrowIfCancellationRequested();
                    var found = scan.Scan(environment, x, phase1Rng, sigma, nuSquared, Math.Min(s.CandidatePairs - k, 1L << 16), affordable);
                    k += found.PairsTested;
                    phase1Pairs += found.PairsDrawn;
                    if (!found.Informative) continue;                  // all covered: no reward query
                    if (!(found.NormSquared <= MaxSpannerNormSquared))
                        throw new InputException(
                            $"spanner: a relative feature has ‖v‖²_Σ⁻¹ = {found.NormSquared:0.###E+0} (λ = {s.Lambda:R}), beyond what Σ⁻¹ can " +
                            $"resolve in double precision ({MaxSpannerNormSquared:0E+0}): rescale the features or raise --algo-param lambda");
                    if (meter.RemainingData < 2) { phase1Stop = 4; status = RunStatus.BudgetExhausted; goto output; }
                    double r1 = env.Query(found.Y1);
                    double r2 = env.Query(found.Y2);
                    ridge.Add(scan.FoundFeature, r1 - r2);
                    sigma.Add(scan.FoundFeature);
                    log.Keep(found.Y1);
                    log.Keep(found.Y2);
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
            ridge.Solve(theta);
            if (double.IsNaN(coverage)) coverage = s.CoverageSlack * log.CoverageEstimate(env, theta);
            var sampler = EnvelopeSampler.ForCoverage(beta, coverage, s.PilotMiss, s.Target.Delta);
            double roundCost = 1 + sampler.PilotSamples + coverage;   // anchor + pilot + ≈ τ/Z ≤ M proposals
            var sigmaSpanInverse = sigma.Inverse.ToArray();   // Σ_span⁻¹, frozen
            var scratch = new double[d];
            phase2Stop = 1;
            for (long t = 0; t < s.ExplorationRounds; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (meter.RemainingData < 2 || meter.RemainingComp < RoundCostSlack * roundCost)
                {
                    phase2Stop = 2;
                    status = RunStatus.BudgetExhausted;
                    break;
                }
                var x = env.DrawPrompt(phase2Rng);
                ridge.Solve(theta);                                   // θ_t = ridge LS on D
                var y2 = env.Sample(x, phase2Rng);                    // anchor y2 ~ π_ref
                env.Features(y2).CopyTo(phi2);
                var f = new TruncatedAnchoredScore(env, theta, phi2, sigmaSpanInverse, nuSquared, scratch);
                var draw = sampler.Sample(x, env, f, phase2Rng);      // y1 ~ π_ref·exp(f/β), enveloped
                samplerCalls++;
                if (draw.Failed) samplerFailures++;
                var y1 = draw.Response;
                double r1 = env.Query(y1);
                double r2 = env.Query(y2);
                Difference(env.Features(y1), phi2, v);
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
        double outputCoverage = s.RejectionCoverage ?? s.CoverageSlack * log.CoverageEstimate(env, theta);
        var outputSampler = EnvelopeSampler.ForCoverage(beta, outputCoverage, s.PilotMiss, s.Target.Delta);
        var policy = new AnchoredTruncatedPolicy(theta, sigma.Inverse, s.Nu, outputSampler, rng.Split("output").Seed);
        var diagnostics = new Dictionary<string, double>
        {
            ["spanner_size"] = spannerSize,
            ["phase1_pairs"] = phase1Pairs,
            ["phase1_stop"] = phase1Stop,
            ["phase2_stop"] = phase2Stop,
            ["exploration_rounds"] = explorationDone,
            ["sampler_failures"] = samplerFailures,
            ["sampler_calls"] = samplerCalls,
            ["nu"] = s.Nu,
            ["lambda"] = s.Lambda,
            ["spanner_prompts_max"] = s.SpannerPrompts,
            ["candidate_pairs"] = s.CandidatePairs,
            ["exploration_rounds_planned"] = s.ExplorationRounds,
            ["rejection_coverage"] = double.IsNaN(coverage) ? outputCoverage : coverage,
            ["output_coverage"] = outputCoverage,
            ["pilot_miss"] = s.PilotMiss,
            ["epsilon"] = s.Target.Epsilon,
            ["delta"] = s.Target.Delta,
            ["rmax_assumed"] = s.Target.RMax,
        };
        if (s.CoverageHint is double hint) diagnostics[s.CoverageAssumed ? "coverage_assumed" : "coverage_hint"] = hint;
        progress?.Report(1);
        return new AlgorithmOutput(policy, status, diagnostics);
    }

    /// <summary>
    /// Refuses, before any oracle call, a configuration whose planned work cannot finish: at most
    /// 2·K_span·T_span Phase-1 samples (or the compute budget) and T_exp rounds of ≈ (1 + m + M) samples, each costing
    /// O(d²) for its norm test or truncated score. A given compute budget bounds the calls; without one the
    /// derived plan must fit under <see cref="MaxPlannedWork"/>.
    /// </summary>
    private static void CheckPlan(SpannerSettings s, int d, long? budgetComp)
    {
        double phase1 = Math.Min(2.0 * s.CandidatePairs * s.SpannerPrompts, s.Phase1Compute ?? double.PositiveInfinity);
        double m = s.RejectionCoverage is double c ? c * (Math.Log(1 / s.PilotMiss) + 1) : 0;
        double phase2 = s.ExplorationRounds * (1 + m);
        double calls = Math.Min(phase1 + phase2, budgetComp ?? double.PositiveInfinity);
        double work = calls * Math.Max(1.0, (double)d * d);
        // Without a budget, T_exp comes from ε, β and R_max alone: 10⁶ rounds is already far past any useful run.
        if (budgetComp is null && s.ExplorationRounds > 1_000_000) work = double.PositiveInfinity;
        if (work > MaxPlannedWork)
            throw new InputException(
                $"spanner: the plan implies ≈ {calls:0.#E+0} oracle calls at O(d²) = {(double)d * d:0.#E+0} each " +
                $"(K_span = {s.CandidatePairs}, T_span = {s.SpannerPrompts}, T_exp = {s.ExplorationRounds}{(s.RejectionCoverage is double mm ? $", M = {mm:0.#E+0}" : "")}), " +
                "which cannot finish: give a smaller --budget-comp, a coverage-hint, or smaller candidate-pairs/exploration-rounds/rejection-coverage");
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
/// <param name="ExplorationRounds">T_exp (at most; the budget may pay for fewer).</param>
/// <param name="RejectionCoverage">M of the rejection sampler, or null to estimate it from the samples drawn.</param>
/// <param name="CoverageSlack">M = this × the coverage estimate.</param>
/// <param name="PilotMiss">η: the sampler's pilot misses a response of π_ref-mass 1/M with probability ≤ η.</param>
/// <param name="Phase1Compute">Sampling-oracle calls Phase 1 may spend, or null (no compute budget).</param>
/// <param name="Anytime">Whether a prompt whose K_span pairs all fail ends Phase 1.</param>
/// <param name="CoverageHint">The coverage hint used (given or assumed), or null (budget-driven).</param>
/// <param name="CoverageAssumed">True if the hint is the fallback, not the user's.</param>
public sealed record SpannerSettings(LearningTarget Target, double Nu, double Lambda, long SpannerPrompts, long CandidatePairs,
    long ExplorationRounds, double? RejectionCoverage, double CoverageSlack, double PilotMiss, long? Phase1Compute, bool Anytime,
    double? CoverageHint, bool CoverageAssumed);
