using System.Numerics.Tensors;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// OnlineDPO — a proper, on-policy method (issue 8). Each round:
/// <list type="number">
/// <item>x ~ ρ; two draws y1, y2 of the current π_θ ∝ π_ref·exp(⟨θ,φ⟩/β), each by an <see cref="EnvelopeSampler"/> on the
/// score ⟨θ,φ⟩ sized from the <see cref="SampleLog"/> coverage estimate of π_θ (as Passive sizes its output) — every
/// pilot sample and proposal is a charged oracle call;</item>
/// <item>rewards r1, r2 for both (two T_data); v = φ(x,y1) − φ(x,y2);</item>
/// <item>refit θ on all pairs so far with one of two losses (<see cref="PairLoss"/>):
/// <c>regression</c> — ridge least squares of Δr = r1 − r2 on v (closed form), the linear-softmax form of the
/// DPO/REBEL target; <c>bt</c> — Bradley–Terry logistic loss on a preference s ∈ {±1} drawn with
/// P(s = +1) = sigmoid((r1 − r2)/temperature), fitted by Newton's method.</item>
/// </list>
/// Output: the proper policy π_θ̂ drawn by an EnvelopeSampler sized from the coverage estimate (<see cref="SoftmaxOutputPolicy"/>).
/// Rounds: <c>rounds</c> if given; else until a budget cannot pay another round (data: 2 queries; compute: the two
/// pilots, 2m calls, the least a round can cost); else SpannerSampling's sample-size rule
/// ⌈c·d·R_max²/(β·min(ε,β))⌉ (<see cref="LearningTarget.InformativePairs"/>).
/// </summary>
public sealed class OnlineDpo : IAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "onlinedpo";

    /// <summary>Newton iterations per refit of the Bradley–Terry loss (warm-started from the previous θ, so a few suffice:
    /// the loss is smooth and strictly convex with the ridge term, and one new pair moves the optimum little).</summary>
    public const int DefaultNewtonSteps = 4;

    private readonly long? _rounds;
    private readonly double _lambda, _coverageSlack, _temperature;
    private readonly double? _pilotMiss;
    private readonly bool _bradleyTerry;
    private readonly int _newtonSteps;

    /// <summary>Reads and validates the algo-params (<c>epsilon, delta, rmax, rounds, loss, temperature, lambda,
    /// newton-steps, coverage-slack, pilot-miss</c>).</summary>
    public OnlineDpo(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, algoParams);
        Target = LearningTarget.Read(p);
        _rounds = p.IntegerOrNull("rounds", 1, int.MaxValue);
        _bradleyTerry = PairLoss.ReadKind(p);
        _temperature = p.Real("temperature", 1.0, 0, 1e6, minExclusive: true);
        _lambda = p.Real("lambda", SpannerSampling.DefaultLambda, 0, 1e6, minExclusive: true);
        _newtonSteps = p.Integer("newton-steps", DefaultNewtonSteps, 1, 100);
        _coverageSlack = p.Real("coverage-slack", SpannerSampling.DefaultCoverageSlack, 1, 1e6);
        _pilotMiss = p.RealOrNull("pilot-miss", 0, 0.5, minExclusive: true);
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public LearningTarget Target { get; }

    /// <summary>
    /// Rounds planned by a pair method (OnlineDPO, XPO): <paramref name="given"/>; else, with no budget, the sample-size
    /// rule; else budget_data / 2 (or long.MaxValue: until the compute budget stops it). A planned number of rounds that
    /// cannot finish is refused before any oracle call (as Passive does); rounds derived from budgets are not, since the
    /// budgets stop the run and a frontier scan must be able to offer large ones.
    /// </summary>
    internal static long PlanRounds(string algorithm, long? given, LearningTarget target, int d, double beta, Meter meter)
    {
        bool planned = given is not null || (meter.BudgetData is null && meter.BudgetComp is null);
        long rounds = given ?? (planned ? target.InformativePairs(d, beta) : meter.BudgetData is long bd ? bd / 2 : long.MaxValue);
        if (planned && rounds * Math.Max(1.0, d) > SpannerSampling.MaxPlannedWork / 10)
            throw new InputException($"{algorithm}: {rounds:0.#E+0} rounds at d = {d} cannot finish; give a smaller --budget-data or algo-param rounds");
        // With only a compute budget the rounds go on until it is spent (each costs at least two samples): a budget under
        // which that could not finish is refused up front rather than left running for days.
        if (!planned && meter.BudgetData is null && meter.BudgetComp is long bc && bc / 2.0 * Math.Max(1.0, d) > SpannerSampling.MaxPlannedWork)
            throw new InputException($"{algorithm}: --budget-comp {bc} with no --budget-data allows up to {bc / 2.0:0.#E+0} rounds at d = {d}, which cannot finish; give --budget-data, algo-param rounds or a smaller --budget-comp");
        return rounds;
    }

    /// <summary>
    /// Whether round t re-estimates the coverage of π_θ that sizes the training sampler: every round for t &lt; 100, then
    /// every ⌈t/100⌉-th round. The estimate scans the whole sample log (up to 2¹⁵ records), so refreshing every round
    /// would make the run quadratic in the rounds; θ moves by O(1/t) per round late in a run, so a refresh every ~1 % of
    /// the rounds so far tracks it. A stale size changes only how exactly the draws follow π_θ, never what is charged.
    /// </summary>
    internal static bool RefreshCoverage(long t) => t < 100 || t % ((t + 99) / 100) == 0;

    /// <inheritdoc />
    public AlgorithmOutput Run(ILearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var log = new SampleLog();
        var env = new RecordingEnvironment(environment, log);
        int d = env.Dimension;
        double beta = env.Beta;
        long rounds = PlanRounds(AlgorithmName, _rounds, Target, d, beta, env.Meter);
        double pilotMiss = _pilotMiss ?? Target.DefaultPilotMiss;
        var theta = new double[d];
        var ridge = new RidgeRegression(d, _lambda);
        var pairs = new PairData(d);
        var status = RunStatus.Ok;
        long done = 0, samplerCalls = 0, samplerFailures = 0;
        double lastCoverage = 1;
        var sampler = EnvelopeSampler.ForCoverage(beta, 1, pilotMiss, Target.Delta);
        try
        {
            for (long t = 0; t < rounds; t++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                // The sampler of the current π_θ, sized as the output's would be (same coverage estimate and slack).
                if (OnlineDpo.RefreshCoverage(t))
                {
                    lastCoverage = _coverageSlack * log.CoverageEstimate(env, theta);
                    sampler = EnvelopeSampler.ForCoverage(beta, lastCoverage, pilotMiss, Target.Delta);
                }
                if (env.Meter.RemainingData < 2 || env.Meter.RemainingComp < 2 * sampler.PilotSamples)
                {
                    status = RunStatus.BudgetExhausted;
                    break;
                }
                var x = env.DrawPrompt(rng);
                var score = new LinearScore(env, theta);
                var draw1 = sampler.Sample(x, env, score, rng);
                var draw2 = sampler.Sample(x, env, score, rng);
                samplerCalls += draw1.OracleCalls + draw2.OracleCalls;
                samplerFailures += (draw1.Failed ? 1 : 0) + (draw2.Failed ? 1 : 0);
                double r1 = env.Query(draw1.Response);
                double r2 = env.Query(draw2.Response);
                var v = new double[d];
                TensorPrimitives.Subtract(env.Features(draw1.Response), env.Features(draw2.Response), v);
                if (_bradleyTerry)
                {
                    // Preference s = +1 (y1 ≻ y2) with probability sigmoid((r1 − r2)/temperature).
                    double s = rng.NextDouble() < PairLoss.Sigmoid((r1 - r2) / _temperature) ? 1 : -1;
                    pairs.Add(v, s);
                    PairLoss.FitBradleyTerry(pairs, _temperature, _lambda, _newtonSteps, theta);
                }
                else
                {
                    ridge.Add(v, r1 - r2);
                    ridge.Solve(theta);
                }
                done++;
                if (rounds != long.MaxValue) progress?.Report((double)t / rounds);
            }
        }
        catch (BudgetExhaustedException)
        {
            status = RunStatus.BudgetExhausted;   // the unfinished round is discarded: θ is the fit of the finished ones
        }
        double coverage = _coverageSlack * log.CoverageEstimate(env, theta);
        var output = EnvelopeSampler.ForCoverage(beta, coverage, pilotMiss, Target.Delta);
        progress?.Report(1);
        var diagnostics = new Dictionary<string, double>
        {
            ["rounds"] = done,
            ["rounds_planned"] = rounds == long.MaxValue ? double.PositiveInfinity : rounds,
            ["loss_bt"] = _bradleyTerry ? 1 : 0,
            ["temperature"] = _temperature,
            ["lambda"] = _lambda,
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
}

/// <summary>Relative features v_i and labels (a reward difference or a preference sign), row-major.</summary>
internal sealed class PairData(int dimension)
{
    private readonly List<double[]> _v = [];
    private readonly List<double> _label = [];

    public int Dimension { get; } = dimension;
    public int Count => _v.Count;
    public ReadOnlySpan<double> V(int i) => _v[i];
    public double Label(int i) => _label[i];

    public void Add(ReadOnlySpan<double> v, double label)
    {
        _v.Add(v.ToArray());
        _label.Add(label);
    }
}

/// <summary>
/// The two pairwise losses of OnlineDPO and XPO, with their gradients (and the Bradley–Terry Hessian), on pairs (v_i, ℓ_i):
/// <code>
/// regression:    L(θ) = Σ_i (⟨θ, v_i⟩ − Δr_i)² + λ‖θ‖²                               (ℓ_i = Δr_i = r1 − r2)
/// Bradley–Terry: L(θ) = Σ_i log(1 + exp(−s_i·⟨θ, v_i⟩/T)) + (λ/2)‖θ‖²                 (ℓ_i = s_i ∈ {±1})
///                ∇L   = −Σ_i s_i·sigmoid(−s_i z_i)·v_i/T + λθ,   z_i = ⟨θ, v_i⟩/T
///                ∇²L  = Σ_i sigmoid(z_i)·sigmoid(−z_i)·v_i v_iᵀ/T² + λI
/// </code>
/// The DPO logit β·log(π_θ(y1)/π_ref(y1)) − β·log(π_θ(y2)/π_ref(y2)) equals ⟨θ, v⟩ for the linear softmax class (log Z
/// cancels); DPO puts it in a sigmoid as is, i.e. assumes preferences at temperature 1 in reward units. We divide by the
/// temperature T the preferences were drawn with, so the population minimiser (λ → 0) is θ* whatever T; at T = 1 this is
/// DPO's loss exactly.
/// </summary>
internal static class PairLoss
{
    /// <summary>Reads <c>loss=regression|bt</c>; true for Bradley–Terry.</summary>
    public static bool ReadKind(OptionReader p) => p.Choice("loss", "regression", "regression", "bt") == "bt";

    public static double Sigmoid(double z) => z >= 0 ? 1 / (1 + Math.Exp(-z)) : Math.Exp(z) / (1 + Math.Exp(z));

    /// <summary>log(1 + e^u) without overflow.</summary>
    public static double Softplus(double u) => u > 0 ? u + Math.Log(1 + Math.Exp(-u)) : Math.Log(1 + Math.Exp(u));

    /// <summary>Bradley–Terry loss at θ; writes ∇L into <paramref name="gradient"/> (if non-empty).</summary>
    public static double BradleyTerry(PairData pairs, ReadOnlySpan<double> theta, double temperature, double lambda, Span<double> gradient)
    {
        double loss = 0.5 * lambda * TensorPrimitives.Dot(theta, theta);
        if (!gradient.IsEmpty) TensorPrimitives.Multiply(theta, lambda, gradient);
        for (int i = 0; i < pairs.Count; i++)
        {
            double s = pairs.Label(i);
            double z = TensorPrimitives.Dot(theta, pairs.V(i)) / temperature;
            loss += Softplus(-s * z);
            if (!gradient.IsEmpty) TensorPrimitives.MultiplyAdd(pairs.V(i), -s * Sigmoid(-s * z) / temperature, gradient, gradient);
        }
        return loss;
    }

    /// <summary>Regression loss at θ; writes ∇L = 2Σ(⟨θ,v⟩ − Δr)v + 2λθ into <paramref name="gradient"/> (if non-empty).</summary>
    public static double Regression(PairData pairs, ReadOnlySpan<double> theta, double lambda, Span<double> gradient)
    {
        double loss = lambda * TensorPrimitives.Dot(theta, theta);
        if (!gradient.IsEmpty) TensorPrimitives.Multiply(theta, 2 * lambda, gradient);
        for (int i = 0; i < pairs.Count; i++)
        {
            double e = TensorPrimitives.Dot(theta, pairs.V(i)) - pairs.Label(i);
            loss += e * e;
            if (!gradient.IsEmpty) TensorPrimitives.MultiplyAdd(pairs.V(i), 2 * e, gradient, gradient);
        }
        return loss;
    }

    /// <summary>Bradley–Terry Hessian Σ σ(z)σ(−z) v vᵀ/T² + λI (row-major d×d).</summary>
    public static void BradleyTerryHessian(PairData pairs, ReadOnlySpan<double> theta, double temperature, double lambda, Span<double> hessian)
    {
        int d = pairs.Dimension;
        hessian.Clear();
        for (int i = 0; i < pairs.Count; i++)
        {
            var v = pairs.V(i);
            double z = TensorPrimitives.Dot(theta, v) / temperature;
            double w = Sigmoid(z) * Sigmoid(-z) / (temperature * temperature);
            for (int a = 0; a < d; a++)
            {
                if (v[a] == 0) continue;
                TensorPrimitives.MultiplyAdd(v, w * v[a], hessian.Slice(a * d, d), hessian.Slice(a * d, d));
            }
        }
        for (int a = 0; a < d; a++) hessian[a * d + a] += lambda;
    }

    /// <summary>
    /// Newton's method on the Bradley–Terry loss from the θ given (warm start), at most <paramref name="steps"/> iterations
    /// (fewer once a Newton step is below 10⁻⁹), each
    /// halved until the loss does not increase (the loss is strictly convex with λ &gt; 0, so a full step is usually taken).
    /// </summary>
    public static void FitBradleyTerry(PairData pairs, double temperature, double lambda, int steps, Span<double> theta)
    {
        int d = pairs.Dimension;
        var gradient = new double[d];
        var hessian = new double[d * d];
        var direction = new double[d];
        var trial = new double[d];
        double loss = BradleyTerry(pairs, theta, temperature, lambda, gradient);
        for (int it = 0; it < steps; it++)
        {
            BradleyTerryHessian(pairs, theta, temperature, lambda, hessian);
            if (!Cholesky.Factor(hessian, d)) return;   // cannot happen with λ > 0; keep the current θ if it does
            gradient.CopyTo(direction, 0);
            Cholesky.Solve(hessian, d, direction);
            if (Math.Abs(TensorPrimitives.MaxMagnitude(direction)) < 1e-9) return;   // converged: further steps would not move θ
            for (double step = 1; step > 1e-8; step *= 0.5)
            {
                for (int a = 0; a < d; a++) trial[a] = theta[a] - step * direction[a];
                double trialLoss = BradleyTerry(pairs, trial, temperature, lambda, []);
                if (trialLoss <= loss)
                {
                    trial.CopyTo(theta);
                    loss = BradleyTerry(pairs, theta, temperature, lambda, gradient);
                    break;
                }
            }
        }
    }
}
