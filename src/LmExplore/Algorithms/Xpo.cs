using System.Numerics.Tensors;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// XPO — Exploratory Preference Optimization (Xie et al. 2024), in the linear softmax class. Each round t:
/// <list type="number">
/// <item>x_t ~ ρ; y_t ~ π_θ by an <see cref="EnvelopeSampler"/> on ⟨θ,φ⟩ sized from the coverage estimate (charged as in
/// <see cref="OnlineDpo"/>), and ỹ_t ~ π_ref (one call) — the paper's pairing;</item>
/// <item>S = <c>normalizer-samples</c> more draws of π_θ at x_t (charged), which with y_t give ê_t, the mean of φ over
/// S + 1 draws: an estimate of E_{π_θ}[φ|x], hence of ∇ log Z_θ(x) = E_{π_θ}[φ|x]/β;</item>
/// <item>rewards for y_t and ỹ_t; the pair (v = φ(y_t) − φ(ỹ_t), label) joins the OnlineDPO pair loss (<see cref="PairLoss"/>);</item>
/// <item><c>steps</c> gradient steps on the minimised objective (the paper's sign: the optimism term is <i>added</i>)
/// <code>
/// L_t(θ) = Σ_{i≤t} pairloss_i(θ) + α·Σ_{i≤t} log π_θ(ỹ_i|x_i),
/// log π_θ(ỹ|x) = log π_ref(ỹ|x) + ⟨θ, φ(x,ỹ)⟩/β − log Z_θ(x),
/// ∇ α·Σ_i log π_θ(ỹ_i|x_i) = (α/β)·(Σ_i φ(x_i,ỹ_i) − Σ_i E_{π_θ}[φ|x_i]) ≈ (α/β)·(Σ_i φ(x_i,ỹ_i) − t·ê_t).
/// </code>
/// Minimising α·log π_θ(ỹ) lowers the probability of π_ref's own samples: the implicit reward β·log(π_θ/π_ref) is pushed
/// down where π_ref already looks, so π_θ moves away from π_ref (the paper's optimism). Σ_i E_{π_θ}[φ|x_i] is replaced by
/// t·ê_t because x_t ~ ρ makes ê_t an unbiased estimate of E_x E_{π_θ}[φ|x] at the round's starting θ (the estimate is
/// held fixed during the round's steps). The step size is 1/L with L an upper bound on the curvature of L_t read off the
/// data: Σ‖v_i‖²/(4T²) + λ (bt) or 2Σ‖v_i‖² + 2λ (regression) for the pair loss, plus α·t·max‖φ‖²/β² for the
/// optimism term (|Cov_{π_θ}(φ)| ≤ max‖φ‖²). A fixed step replaces backtracking because the objective's value needs
/// log Z_θ, which no sample gives; with the true gradient a 1/L step never increases L_t.</item>
/// </list>
/// Output and round planning as <see cref="OnlineDpo"/>.
/// </summary>
public sealed class Xpo : IAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "xpo";

    /// <summary>Default α (the "weakly optimistic" setting; TRL's default is far smaller, see docs/ALGORITHMS.md).</summary>
    public const double DefaultAlpha = 0.1;

    /// <summary>Default extra draws of π_θ per round for the E_{π_θ}[φ] estimate (with the on-policy draw: 5 draws).</summary>
    public const int DefaultNormalizerSamples = 4;

    /// <summary>Default gradient steps per round.</summary>
    public const int DefaultSteps = 10;

    private readonly long? _rounds;
    private readonly double _alpha, _lambda, _coverageSlack, _temperature;
    private readonly double? _pilotMiss;
    private readonly bool _bradleyTerry;
    private readonly int _normalizerSamples, _steps;

    /// <summary>Reads and validates the algo-params (<c>epsilon, delta, rmax, rounds, alpha, loss, temperature, lambda,
    /// normalizer-samples, steps, coverage-slack, pilot-miss</c>).</summary>
    public Xpo(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, algoParams);
        Target = LearningTarget.Read(p);
        _rounds = p.IntegerOrNull("rounds", 1, int.MaxValue);
        _alpha = p.Real("alpha", DefaultAlpha, 0, 1e6);
        _bradleyTerry = PairLoss.ReadKind(p);
        _temperature = p.Real("temperature", 1.0, 0, 1e6, minExclusive: true);
        _lambda = p.Real("lambda", SpannerSampling.DefaultLambda, 0, 1e6, minExclusive: true);
        _normalizerSamples = p.Integer("normalizer-samples", DefaultNormalizerSamples, 0, 10_000);
        _steps = p.Integer("steps", DefaultSteps, 1, 10_000);
        _coverageSlack = p.Real("coverage-slack", SpannerSampling.DefaultCoverageSlack, 1, 1e6);
        _pilotMiss = p.RealOrNull("pilot-miss", 0, 0.5, minExclusive: true);
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public LearningTarget Target { get; }

    /// <inheritdoc />
    public AlgorithmOutput Run(ILearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var log = new SampleLog();
        var env = new RecordingEnvironment(environment, log);
        int d = env.Dimension;
        double beta = env.Beta;
        long rounds = OnlineDpo.PlanRounds(AlgorithmName, _rounds, Target, d, beta, env.Meter);
        double pilotMiss = _pilotMiss ?? Target.DefaultPilotMiss;
        var theta = new double[d];
        var pairs = new PairData(d);
        var sumRefPhi = new double[d];
        var meanPolicyPhi = new double[d];
        var gradient = new double[d];
        // Regression loss: its gradient 2(Gθ − b) + 2λθ needs only G = Σ v vᵀ and b = Σ Δr·v, kept as pairs arrive, so a
        // step costs O(d²) instead of O(t·d) (the Bradley–Terry loss has no such statistics).
        var gram = _bradleyTerry ? null : new double[d * d];
        var gramLabel = new double[d];
        double sumVNormSq = 0, maxPhiSq = 0;
        var status = RunStatus.Ok;
        long done = 0, samplerCalls = 0, samplerFailures = 0;
        double lastCoverage = 1;
        var sampler = EnvelopeSampler.ForCoverage(beta, 1, pilotMiss, Target.Delta);
        try
        {
            for (long t = 0; t < rounds; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (OnlineDpo.RefreshCoverage(t))
                {
                    lastCoverage = _coverageSlack * log.CoverageEstimate(env, theta);
                    sampler = EnvelopeSampler.ForCoverage(beta, lastCoverage, pilotMiss, Target.Delta);
                }
                if (env.Meter.RemainingData < 2 || env.Meter.RemainingComp < (1 + _normalizerSamples) * sampler.PilotSamples + 1)
                {
                    status = RunStatus.BudgetExhausted;
                    break;
                }
                // Samples: y ~ π_θ, ỹ ~ π_ref, S more draws of π_θ for ê.
                var x = env.DrawPrompt(rng);
                var score = new LinearScore(env, theta);
                var onPolicy = sampler.Sample(x, env, score, rng);
                var reference = env.Sample(x, rng);
                samplerCalls += onPolicy.OracleCalls;
                samplerFailures += onPolicy.Failed ? 1 : 0;
                env.Features(onPolicy.Response).CopyTo(meanPolicyPhi);
                for (int j = 0; j < _normalizerSamples; j++)
                {
                    var extra = sampler.Sample(x, env, score, rng);
                    samplerCalls += extra.OracleCalls;
                    samplerFailures += extra.Failed ? 1 : 0;
                    TensorPrimitives.Add(meanPolicyPhi, env.Features(extra.Response), meanPolicyPhi);
                }
                TensorPrimitives.Multiply(meanPolicyPhi, 1.0 / (1 + _normalizerSamples), meanPolicyPhi);

                // Rewards and the pair (y, ỹ).
                double r = env.Query(onPolicy.Response);
                double rRef = env.Query(reference);
                var phi = env.Features(onPolicy.Response);
                var phiRef = env.Features(reference);
                var v = new double[d];
                TensorPrimitives.Subtract(phi, phiRef, v);
                double label = _bradleyTerry ? (rng.NextDouble() < PairLoss.Sigmoid((r - rRef) / _temperature) ? 1 : -1) : r - rRef;
                pairs.Add(v, label);
                if (gram is not null)
                {
                    for (int a = 0; a < d; a++) TensorPrimitives.MultiplyAdd(v, v[a], gram.AsSpan(a * d, d), gram.AsSpan(a * d, d));
                    TensorPrimitives.MultiplyAdd(v, label, gramLabel, gramLabel);
                }
                TensorPrimitives.Add(sumRefPhi, phiRef, sumRefPhi);
                sumVNormSq += TensorPrimitives.Dot(v, v);
                maxPhiSq = Math.Max(maxPhiSq, Math.Max(TensorPrimitives.Dot(phi, phi), TensorPrimitives.Dot(phiRef, phiRef)));
                done++;

                // Gradient steps of size 1/L on L_t.
                double curvature = (_bradleyTerry ? sumVNormSq / (4 * _temperature * _temperature) + _lambda : 2 * sumVNormSq + 2 * _lambda)
                                   + _alpha * done * maxPhiSq / (beta * beta);
                for (int step = 0; step < _steps; step++)
                {
                    if (_bradleyTerry) PairLoss.BradleyTerry(pairs, theta, _temperature, _lambda, gradient);
                    else RegressionGradient(gram!, gramLabel, theta, _lambda, gradient);
                    AddOptimismGradient(_alpha, beta, sumRefPhi, done, meanPolicyPhi, gradient);
                    TensorPrimitives.MultiplyAdd(gradient, -1 / curvature, theta, theta);
                }
                if (rounds != long.MaxValue) progress?.Report((double)t / rounds);
            }
        }
        catch (BudgetExhaustedException)
        {
            status = RunStatus.BudgetExhausted;   // the unfinished round is discarded
        }
        double coverage = _coverageSlack * log.CoverageEstimate(env, theta);
        var output = EnvelopeSampler.ForCoverage(beta, coverage, pilotMiss, Target.Delta);
        progress?.Report(1);
        var diagnostics = new Dictionary<string, double>
        {
            ["rounds"] = done,
            ["rounds_planned"] = rounds == long.MaxValue ? double.PositiveInfinity : rounds,
            ["alpha"] = _alpha,
            ["loss_bt"] = _bradleyTerry ? 1 : 0,
            ["temperature"] = _temperature,
            ["lambda"] = _lambda,
            ["normalizer_samples"] = _normalizerSamples,
            ["steps"] = _steps,
            ["train_sampler_calls"] = samplerCalls,
            ["train_sampler_failures"] = samplerFailures,
            ["train_last_coverage"] = lastCoverage,
            ["output_coverage"] = coverage,
            ["pilot_miss"] = pilotMiss,
            ["epsilon"] = Target.Epsilon,
            ["delta"] = Target.Delta,
        };
        return new AlgorithmOutput(new SoftmaxOutputPolicy(theta, output), status, diagnostics);
    }

    /// <summary>∇ of the regression loss Σ(⟨θ,v_i⟩ − Δr_i)² + λ‖θ‖² from its sufficient statistics G = Σ v_i v_iᵀ (row-major)
    /// and b = Σ Δr_i v_i: 2(Gθ − b) + 2λθ — the same gradient as <see cref="PairLoss.Regression"/>.</summary>
    internal static void RegressionGradient(ReadOnlySpan<double> gram, ReadOnlySpan<double> gramLabel, ReadOnlySpan<double> theta,
        double lambda, Span<double> gradient)
    {
        int d = theta.Length;
        for (int a = 0; a < d; a++)
            gradient[a] = 2 * (TensorPrimitives.Dot(gram.Slice(a * d, d), theta) - gramLabel[a] + lambda * theta[a]);
    }

    /// <summary>
    /// Adds ∇_θ α·Σ_{i≤t} log π_θ(ỹ_i|x_i) = (α/β)·(Σ_i φ(x_i,ỹ_i) − t·E_{π_θ}[φ]) to <paramref name="gradient"/>, with
    /// <paramref name="sumRefPhi"/> = Σ_i φ(x_i,ỹ_i), <paramref name="count"/> = t and <paramref name="meanPolicyPhi"/> the
    /// (estimated or exact) E_{π_θ}[φ].
    /// </summary>
    internal static void AddOptimismGradient(double alpha, double beta, ReadOnlySpan<double> sumRefPhi, double count,
        ReadOnlySpan<double> meanPolicyPhi, Span<double> gradient)
    {
        for (int a = 0; a < gradient.Length; a++)
            gradient[a] += alpha / beta * (sumRefPhi[a] - count * meanPolicyPhi[a]);
    }
}
