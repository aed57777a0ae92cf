using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>What a token-level algorithm hands back: its output policy (exactly evaluable by DP), status and diagnostics.</summary>
public sealed record TokenAlgorithmOutput(ITokenOutputPolicy Policy, RunStatus Status, IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>
/// A token-level learning algorithm: it sees only an <see cref="ITokenLearnerEnvironment"/> — prompts it received, tokens
/// it paid for (T_tokens), rewards of complete responses it built (T_data).
/// </summary>
public interface ITokenAlgorithm
{
    /// <summary>Name as used on the command line.</summary>
    string Name { get; }
    /// <summary>ε, δ, R_max.</summary>
    LearningTarget Target { get; }
    /// <summary>Whether it asks the oracle for whole next-token distributions (the oracle must offer them).</summary>
    bool UsesDistributions { get; }
    /// <summary>Runs to completion or until a budget runs out (no <see cref="BudgetExhaustedException"/> escapes).</summary>
    TokenAlgorithmOutput Run(ITokenLearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken);
}

/// <summary>
/// MTSS — multi-turn SpannerSampling (paper, Thm 5.1; the details are ours, docs/ALGORITHMS.md). Backward over the
/// layers h = H, …, 1, with the later layers π̂_{h+1:H} already learned and frozen:
/// <list type="number">
/// <item>Phase 1 — token-level spanner: roll in to a prefix of length h−1 with π_ref, draw a pair a1, a2 ~ π_ref(·|prefix);
/// if v = φ(a1) − φ(a2) has ‖v‖_{Σ_h⁻¹} &gt; ν, roll out both continuations with π̂_{h+1:H}, query the two rewards and
/// regress G1 − G2 on v, where G = r − β·Σ_{k&gt;h} log(π̂_k/π_ref)(a_k) is the soft return; otherwise (no reward)
/// draw a fresh prefix. Anytime: K_span consecutive failed pairs end the phase.</item>
/// <item>Phase 2 — exploration with Σ_span frozen: roll in, θ_t = ridge LS, a1 from the truncated token-level softmax
/// of θ_t anchored at a2 ~ π_ref, roll out both, query, regress — T_exp rounds, or what the layer's share of the
/// budgets pays for. The pilots of these draws estimate the coverage M_h the layer's output sampler needs.</item>
/// <item>Layer output: θ_h = ridge LS, Σ_h = Σ_span, the envelope sampler sized for M_h.</item>
/// </list>
/// The output is the truncated token-level policy of all layers (<see cref="TruncatedTokenPolicy"/>), whose law is
/// computed exactly by DP over (h, s).
/// </summary>
public sealed class Mtss : ITokenAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "mtss";
    /// <summary>Default ν (as SpannerSampling).</summary>
    public const double DefaultNu = SpannerSampling.DefaultNu;
    /// <summary>Default ridge λ (as SpannerSampling: one pair in a direction dominates the prior there).</summary>
    public const double DefaultLambda = SpannerSampling.DefaultLambda;
    /// <summary>Default share of a layer's token budget that Phase 1 may use.</summary>
    public const double DefaultSpannerShare = SpannerSampling.DefaultSpannerShare;
    /// <summary>M_h = this × the pilot's coverage estimate.</summary>
    public const double DefaultCoverageSlack = SpannerSampling.DefaultCoverageSlack;
    /// <summary>Token-level coverage assumed for the first layer's exploration sampler (and for K_span without a hint or
    /// budget) when no coverage-hint is given.</summary>
    public const double FallbackCoverage = 4;
    /// <summary>A round starts only if the layer's budget left pays for this many times its measured average cost.</summary>
    public const double RoundCostSlack = 1.5;

    private readonly double? _coverageHint, _nu, _lambda, _rejectionCoverage, _pilotMiss, _spannerShare, _coverageSlack;
    private readonly long? _spannerPrompts, _candidatePairs, _explorationRounds;
    private readonly bool _anytime, _learnedRollIn;

    /// <summary>Reads and validates the algo-params.</summary>
    public Mtss(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, algoParams);
        Target = LearningTarget.Read(p);
        _coverageHint = p.RealOrNull("coverage-hint", 1, 1e6);
        _nu = p.RealOrNull("nu", 0, 1e6, minExclusive: true);
        _lambda = p.RealOrNull("lambda", 0, 1e6, minExclusive: true);
        _spannerPrompts = p.IntegerOrNull("spanner-prompts", 0, int.MaxValue);
        _candidatePairs = p.IntegerOrNull("candidate-pairs", 1, (long)1e9);
        _explorationRounds = p.IntegerOrNull("exploration-rounds", 0, int.MaxValue);
        _rejectionCoverage = p.RealOrNull("rejection-coverage", 1, 1e6);
        _pilotMiss = p.RealOrNull("pilot-miss", 0, 0.5, minExclusive: true);
        _coverageSlack = p.RealOrNull("coverage-slack", 1, 1e6);
        _spannerShare = p.RealOrNull("spanner-share", 0, 1, minExclusive: true, maxExclusive: true);
        _anytime = p.Boolean("anytime", true);
        UsesDistributions = p.Boolean("next-token-distributions", false);
        _learnedRollIn = p.Choice("roll-in", "ref", "ref", "learned") == "learned";
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;
    /// <inheritdoc />
    public LearningTarget Target { get; }
    /// <inheritdoc />
    public bool UsesDistributions { get; }

    /// <summary>
    /// The parameters of a run on D-dimensional token features and horizon H, each given or derived:
    /// ν = 0.5, λ = 0.01; T_span = the elliptical-potential bound for D; per-layer accuracy ε/H (errors add over layers),
    /// so T_exp = ⌈c·D·R_max²/(β·min(ε/H, β))⌉ (<see cref="LearningTarget.SampleSizeConstant"/>); per-token pilot miss
    /// η = ε/(2·R_max·H) and failure δ/H (union over layers); K_span = ⌈(C·H/2)·ln(H·T_span/δ)⌉ with C the coverage hint
    /// (else <see cref="FallbackCoverage"/>), or — with a token budget and no hint — what half of a layer's Phase-1 share pays for.
    /// </summary>
    public MtssSettings Derive(int dimension, int horizon, double beta, long? budgetTokens)
    {
        double nu = _nu ?? DefaultNu;
        double lambda = _lambda ?? DefaultLambda;
        long spannerPrompts = _spannerPrompts ?? SpannerSampling.EllipticPotentialBound(dimension, lambda, nu);
        var layerTarget = Target with { Epsilon = Target.Epsilon / horizon };
        long explorationRounds = _explorationRounds ?? layerTarget.InformativePairs(dimension, beta);
        double hint = _coverageHint ?? FallbackCoverage;
        long? candidatePairs = _candidatePairs
            ?? (_coverageHint is null && budgetTokens is not null
                ? null                                          // set per layer from its budget share
                : (long)Math.Ceiling(hint * horizon / 2 * Math.Log(Math.Max(2.0, (double)horizon * spannerPrompts) / Target.Delta)));
        double pilotMiss = _pilotMiss ?? Math.Clamp(Target.Epsilon / (2 * Target.RMax * horizon), 1e-12, 0.5);
        return new MtssSettings(Target, nu, lambda, spannerPrompts, candidatePairs, explorationRounds, _rejectionCoverage,
            _coverageSlack ?? DefaultCoverageSlack, hint, _coverageHint is null, pilotMiss, Target.Delta / horizon,
            _spannerShare ?? DefaultSpannerShare, _anytime, UsesDistributions);
    }

    /// <summary>The envelope sampler size for coverage M: m = ⌈M·ln(1/η)⌉, N = ⌈4·M·ln(4/δ)⌉.</summary>
    public static TokenSamplerSize SamplerSize(double coverage, double pilotMiss, double delta) => new(
        (long)Math.Clamp(Math.Ceiling(coverage * Math.Log(1 / pilotMiss)), 1, 1e9),
        (long)Math.Clamp(Math.Ceiling(4 * coverage * Math.Log(4 / delta)), 1, 1e9));

    /// <inheritdoc />
    public TokenAlgorithmOutput Run(ITokenLearnerEnvironment env, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        if (UsesDistributions && !env.OffersDistributions)
            throw new InputException("mtss: next-token-distributions=true needs an oracle that offers next-token distributions");
        var meter = env.Meter;
        int H = env.Horizon, D = env.Dimension;
        double beta = env.Beta;
        var s = Derive(D, H, beta, meter.BudgetTokens);
        // roll-in=learned: a first backward pass rolls in with π_ref, a second one with the first pass's policy.
        int passes = _learnedRollIn ? 2 : 1;
        TruncatedTokenPolicy? rollIn = null, policy = null;
        double coverage = s.RejectionCoverage ?? Math.Max(1, s.CoverageSlack * s.CoverageHint);
        var status = RunStatus.Ok;
        long spannerPairs = 0, candidates = 0, explorationRounds = 0;
        double maxCoverage = 0;
        int layersLearned = 0;
        for (int pass = 1; pass <= passes; pass++)
        {
            policy = new TruncatedTokenPolicy(H, D, beta, s.Nu, s.UseDistributions);
            var layers = new LayerLearner(env, policy, rollIn, s, pass == 1 ? rng : rng.Split((ulong)pass), cancellationToken);
            bool stopped = false;
            for (int h = H; h >= 1; h--)
            {
                // This layer's share of what is left: layers h, h−1, …, 1 of this pass and every layer of the passes after it.
                long layersLeft = h + (long)(passes - pass) * H;
                long? tokenShare = meter.BudgetTokens is null ? null : meter.RemainingTokens / layersLeft;
                long? dataShare = meter.BudgetData is null ? null : meter.RemainingData / layersLeft;
                var layer = layers.Learn(h, coverage, tokenShare, dataShare);
                spannerPairs += layer.SpannerSize;
                candidates += layer.Candidates;
                explorationRounds += layer.ExplorationRounds;
                if (layer.Status != RunStatus.Ok) status = RunStatus.BudgetExhausted;
                if (s.RejectionCoverage is null && layer.CoverageEstimate > 0) coverage = Math.Max(1, s.CoverageSlack * layer.CoverageEstimate);
                maxCoverage = Math.Max(maxCoverage, policy.Size(h).PilotSamples);
                layersLearned++;
                progress?.Report((double)((pass - 1) * H + H - h + 1) / (passes * H));
                if (layer.Stop) { stopped = true; break; }   // a budget ran out for good: earlier layers stay π_ref
            }
            // A second pass cut short by a budget would be worse than the first: keep the first.
            if (stopped && rollIn is not null) { policy = rollIn; break; }
            if (stopped) break;
            rollIn = policy;
        }
        var diagnostics = new Dictionary<string, double>
        {
            ["layers_learned"] = layersLearned,
            ["spanner_size"] = spannerPairs,
            ["phase1_pairs"] = candidates,
            ["exploration_rounds"] = explorationRounds,
            ["nu"] = s.Nu,
            ["lambda"] = s.Lambda,
            ["spanner_prompts_max"] = s.SpannerPrompts,
            ["exploration_rounds_planned"] = s.ExplorationRounds,
            ["largest_pilot"] = maxCoverage,
            ["pilot_miss"] = s.PilotMiss,
            ["epsilon"] = s.Target.Epsilon,
            ["delta"] = s.Target.Delta,
            ["rmax_assumed"] = s.Target.RMax,
            ["next_token_distributions"] = s.UseDistributions ? 1 : 0,
            [s.CoverageAssumed ? "coverage_assumed" : "coverage_hint"] = s.CoverageHint,
        };
        if (s.CandidatePairs is long k) diagnostics["candidate_pairs"] = k;
        diagnostics["passes"] = passes;
        return new TokenAlgorithmOutput(policy!, status, diagnostics);
    }

    /// <summary>What learning one layer produced.</summary>
    private readonly record struct LayerResult(RunStatus Status, bool Stop, long SpannerSize, long Candidates, long ExplorationRounds, double CoverageEstimate);

    /// <summary>Learns one layer at a time (Phase 1, Phase 2, layer output), given the later layers in the policy.</summary>
    private sealed class LayerLearner(ITokenLearnerEnvironment env, TruncatedTokenPolicy policy, TruncatedTokenPolicy? rollIn, MtssSettings s,
        Rng rng, CancellationToken ct)
    {
        private readonly int _d = env.Dimension;
        private readonly Rng _rng = rng.Split("layers");
        private ITokenLearnerEnvironment Env => env;
        private MtssSettings S => s;
        private TruncatedTokenPolicy Policy => policy;
        private CancellationToken Ct => ct;

        public LayerResult Learn(int h, double coverage, long? tokenShare, long? dataShare)
        {
            var layer = new Layer(this, h, coverage, tokenShare, dataShare);
            try
            {
                if (layer.Phase1()) layer.Phase2();
            }
            catch (BudgetExhaustedException)
            {
                layer.Status = RunStatus.BudgetExhausted;
                layer.Stop = true;
            }
            return layer.Output();
        }

        /// <summary>The state of one layer while it is learned: its regression, Σ, budgets and counters.</summary>
        private sealed class Layer
        {
            private readonly LayerLearner _l;
            private readonly int _h;
            private readonly double _coverage;
            private readonly EllipticNorm _sigma;
            private readonly RidgeRegression _ridge;
            private readonly double[] _theta, _v;
            private readonly Rng _rng;
            private readonly long _tokenEnd, _dataEnd, _phase1End, _candidatePairs;
            private long _spannerSize, _candidates, _rounds;
            private double _coverageEstimate;

            public Layer(LayerLearner learner, int h, double coverage, long? tokenShare, long? dataShare)
            {
                _l = learner;
                _h = h;
                _coverage = coverage;
                var s = learner.S;
                var meter = learner.Env.Meter;
                _sigma = new EllipticNorm(learner._d, s.Lambda);
                _ridge = new RidgeRegression(learner._d, s.Lambda);
                _theta = new double[learner._d];
                _v = new double[learner._d];
                _rng = learner._rng.Split((ulong)h);
                _tokenEnd = tokenShare is long ts ? meter.TTokens + ts : long.MaxValue;
                _dataEnd = dataShare is long ds ? meter.TData + ds : long.MaxValue;
                _phase1End = tokenShare is long t1 ? meter.TTokens + (long)(s.SpannerShare * t1) : long.MaxValue;
                // Each candidate pair costs a roll-in of h−1 tokens and two draws; with a budget and no hint, a full failure
                // streak may cost half of the Phase-1 share.
                _candidatePairs = s.CandidatePairs ?? Math.Max(1, (long)(s.SpannerShare * tokenShare!.Value / 2 / (h + 1)));
            }

            public RunStatus Status { get; set; } = RunStatus.Ok;
            public bool Stop { get; set; }

            /// <summary>Phase 1 — token-level spanner. False when the data share ran out (skip Phase 2).</summary>
            public bool Phase1()
            {
                var env = _l.Env;
                var meter = env.Meter;
                var s = _l.S;
                for (long t = 0; t < s.SpannerPrompts; t++)
                {
                    bool informative = false;
                    for (long k = 0; k < _candidatePairs; k++)
                    {
                        if ((k & 0xFF) == 0) _l.Ct.ThrowIfCancellationRequested();
                        if (meter.TTokens + _h + 1 > _phase1End) { Status = RunStatus.BudgetExhausted; return true; }
                        var prefix = _l.RollIn(_h - 1, _rng);                     // a fresh prefix per candidate
                        var a1 = env.Next(prefix, _rng);
                        var a2 = env.Next(prefix, _rng);
                        _candidates++;
                        Difference(env.Features(a1), env.Features(a2), _v);
                        if (_sigma.NormSquared(_v) <= s.Nu * s.Nu) continue;         // covered: no reward query
                        if (meter.TData + 2 > _dataEnd) { Status = RunStatus.BudgetExhausted; return false; }
                        double g1 = _l.SoftReturn(env.Append(a1), _rng);
                        double g2 = _l.SoftReturn(env.Append(a2), _rng);
                        _ridge.Add(_v, g1 - g2);
                        _sigma.Add(_v);
                        _spannerSize++;
                        informative = true;
                        break;
                    }
                    if (!informative && s.Anytime) break;                            // anytime: a full failure streak
                }
                return true;
            }

            /// <summary>Phase 2 — exploration with Σ_span frozen, for T_exp rounds or what the layer's shares pay for.</summary>
            public void Phase2()
            {
                var env = _l.Env;
                var meter = env.Meter;
                var s = _l.S;
                var sampler = SamplerSize(_coverage, s.PilotMiss, s.TokenDelta);
                var sigmaSpanInverse = _sigma.Inverse.ToArray();
                long spentInRounds = 0;
                for (long t = 0; t < s.ExplorationRounds; t++)
                {
                    if ((t & 0xF) == 0) _l.Ct.ThrowIfCancellationRequested();
                    double average = _rounds == 0 ? 0 : (double)spentInRounds / _rounds;
                    if (meter.TData + 2 > _dataEnd || _tokenEnd - meter.TTokens < RoundCostSlack * average)
                    {
                        Status = RunStatus.BudgetExhausted;
                        return;
                    }
                    long before = meter.TTokens;
                    var prefix = _l.RollIn(_h - 1, _rng);
                    _ridge.Solve(_theta);                                            // θ_t = ridge LS on this layer's data
                    _l.Policy.SetLayer(_h, _theta, sigmaSpanInverse, sampler);
                    var a1 = _l.Policy.Step(env, prefix, _rng, out _, out _, out double pilotCoverage, out var a2);
                    _coverageEstimate = Math.Max(_coverageEstimate, pilotCoverage);
                    Difference(env.Features(a1), env.Features(a2), _v);
                    double g1 = _l.SoftReturn(env.Append(a1), _rng);
                    double g2 = _l.SoftReturn(env.Append(a2), _rng);
                    _ridge.Add(_v, g1 - g2);
                    _rounds++;
                    spentInRounds += meter.TTokens - before;
                }
            }

            /// <summary>Layer output: θ_h = ridge LS, Σ_span, the sampler sized by the pilots' coverage.</summary>
            public LayerResult Output()
            {
                var s = _l.S;
                var meter = _l.Env.Meter;
                _ridge.Solve(_theta);
                double outputCoverage = s.RejectionCoverage ?? (_coverageEstimate > 0 ? Math.Max(1, s.CoverageSlack * _coverageEstimate) : _coverage);
                _l.Policy.SetLayer(_h, _theta, _sigma.Inverse, SamplerSize(outputCoverage, s.PilotMiss, s.TokenDelta));
                if (meter.RemainingData < 2 || meter.RemainingTokens < _h) Stop = true;
                return new LayerResult(Status, Stop, _spannerSize, _candidates, _rounds, _coverageEstimate);
            }
        }

        /// <summary>A prefix of <paramref name="length"/> tokens drawn from π_ref (one token call each), or with the previous
        /// pass's policy (roll-in=learned; its sampler's calls).</summary>
        private Prefix RollIn(int length, Rng r)
        {
            var prefix = env.Start(env.DrawPrompt(r));
            for (int i = 0; i < length; i++)
                prefix = env.Append(rollIn is null ? env.Next(prefix, r) : rollIn.Step(env, prefix, r, out _, out _, out _, out _));
            return prefix;
        }

        /// <summary>G = r − β·Σ_{k&gt;h} log(π̂_k/π_ref)(a_k): roll out with the learned later layers, then one reward query.</summary>
        private double SoftReturn(Prefix prefix, Rng r)
        {
            double logRatios = 0;
            while (prefix.Length < env.Horizon)
            {
                var token = policy.Step(env, prefix, r, out double logRatio, out _, out _, out _);
                logRatios += logRatio;
                prefix = env.Append(token);
            }
            return env.Query(prefix) - env.Beta * logRatios;
        }

        private static void Difference(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> result)
        {
            for (int i = 0; i < result.Length; i++) result[i] = a[i] - b[i];
        }
    }
}

/// <summary>The parameters of one MTSS run (given or derived; see <see cref="Mtss.Derive"/>).</summary>
/// <param name="Target">ε, δ, R_max.</param>
/// <param name="Nu">ν.</param>
/// <param name="Lambda">λ.</param>
/// <param name="SpannerPrompts">T_span per layer.</param>
/// <param name="CandidatePairs">K_span (candidate pairs per spanner step, and the anytime streak), or null: from each layer's budget share.</param>
/// <param name="ExplorationRounds">T_exp per layer (at most; budgets may pay for fewer).</param>
/// <param name="RejectionCoverage">A fixed M for every sampler, or null to estimate it per layer from the pilots.</param>
/// <param name="CoverageSlack">M_h = this × the pilots' coverage estimate.</param>
/// <param name="CoverageHint">The token-level coverage used before any estimate (given or assumed).</param>
/// <param name="CoverageAssumed">True if the hint is <see cref="Mtss.FallbackCoverage"/>, not the user's.</param>
/// <param name="PilotMiss">η per token.</param>
/// <param name="TokenDelta">Sampler failure probability per token (δ/H).</param>
/// <param name="SpannerShare">Share of a layer's token budget Phase 1 may use.</param>
/// <param name="Anytime">Whether K_span failed pairs in a row end Phase 1.</param>
/// <param name="UseDistributions">Whether steps take the oracle's whole next-token distribution (one token call).</param>
public sealed record MtssSettings(LearningTarget Target, double Nu, double Lambda, long SpannerPrompts, long? CandidatePairs,
    long ExplorationRounds, double? RejectionCoverage, double CoverageSlack, double CoverageHint, bool CoverageAssumed,
    double PilotMiss, double TokenDelta, double SpannerShare, bool Anytime, bool UseDistributions);
