using System.Numerics.Tensors;
using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Policies;

/// <summary>
/// SpannerSampling's output (SPEC §3.1): draw an anchor y' ~ π_ref(x), then y ~ SoftmaxSampler(f_{θ̂,y'}) with
/// f_{θ̂,y'}(y) = ⟨θ̂, φ(y) − φ(y')⟩ · 1[‖φ(y) − φ(y')‖_{Σ_span⁻¹} ≤ ν]. Its target, with exact softmax, is
/// <code>π̂(y|x) = Σ_{y'} π_ref(y'|x) · π̄(y|x,y'),   π̄(·|x,y') ∝ π_ref(·|x)·exp(f_{θ̂,y'}/β).</code>
/// <see cref="Tabulate"/> computes it exactly when |Y(x)| ≤ <see cref="ExactLimit"/> — O(N²·d) per prompt after
/// whitening: with Σ_span⁻¹ = L Lᵀ and ψ = Lᵀφ the truncation test is ‖ψ(y) − ψ(y')‖ ≤ ν and the score is
/// s(y) − s(y') with s = ⟨θ̂,φ⟩/β, so each anchor costs a few vectorized passes over N — and by Monte Carlo over
/// <see cref="MonteCarloAnchors"/> anchors y' ~ π_ref above that (reported in the diagnostics).
/// </summary>
/// <remarks>
/// Expected cost of one output sample (<see cref="ExpectedSampleCost"/>), per prompt and averaged over anchors:
/// 1 (anchor) + m (normalizer samples) + E[proposals], where with exact normalizer Z the acceptance probability
/// of one proposal is p(y') = Σ_y min(π_ref(y), π̄(y|y')/M) and the proposals until the first acceptance,
/// capped at N = ⌈4M·ln(4/δ)⌉, number (1 − (1 − p)^N)/p in expectation. M, m, N are those of the learner's
/// own sampler (M_rej).
/// </remarks>
public sealed class AnchoredTruncatedPolicy : IOutputPolicy, IEvaluationDiagnostics
{
    /// <summary>Largest |Y(x)| tabulated exactly (O(N²) per prompt).</summary>
    public const int ExactLimit = 4096;
    /// <summary>Anchors drawn per prompt when |Y(x)| exceeds <see cref="ExactLimit"/>.</summary>
    public const int MonteCarloAnchors = 256;

    private readonly double[] _theta;
    private readonly double[] _sigmaInverse;
    private readonly double _nu;
    private readonly double _beta;
    private readonly ulong _monteCarloSeed;
    private EnumerableInstance? _cachedFor;
    private Evaluation? _cached;

    /// <summary>Creates the policy from θ̂, Σ_span⁻¹ (row-major d×d, copied), ν, β and the sampler's M, m, N.</summary>
    public AnchoredTruncatedPolicy(ReadOnlySpan<double> theta, ReadOnlySpan<double> sigmaInverse, double nu, double beta,
        double coverageGuess, long normalizerSamples, long maxProposals, ulong monteCarloSeed)
    {
        if (sigmaInverse.Length != theta.Length * theta.Length) throw new ArgumentException("Σ⁻¹ must be d×d");
        _theta = theta.ToArray();
        _sigmaInverse = sigmaInverse.ToArray();
        _nu = nu;
        _beta = beta;
        CoverageGuess = coverageGuess;
        NormalizerSamples = normalizerSamples;
        MaxProposals = maxProposals;
        _monteCarloSeed = monteCarloSeed;
    }

    /// <summary>θ̂.</summary>
    public ReadOnlySpan<double> Theta => _theta;
    /// <summary>M of the output sampler.</summary>
    public double CoverageGuess { get; }
    /// <summary>m of the output sampler.</summary>
    public long NormalizerSamples { get; }
    /// <summary>N of the output sampler.</summary>
    public long MaxProposals { get; }

    /// <inheritdoc />
    public TabularPolicy Tabulate(EnumerableInstance instance) => Evaluate(instance).Policy;

    /// <inheritdoc />
    public double ExpectedSampleCost(EnumerableInstance instance) => Evaluate(instance).SampleCost;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, double> EvaluationDiagnostics(EnumerableInstance instance)
    {
        var e = Evaluate(instance);
        var untruncated = TabularPolicy.LinearSoftmax(instance, _theta);
        return new Dictionary<string, double>
        {
            ["suboptimality_untruncated"] = ExactEvaluator.OptimalValue(instance) - ExactEvaluator.Value(instance, untruncated),
            ["output_tabulation_exact"] = e.MonteCarloPrompts == 0 ? 1 : 0,
            ["output_mc_anchors"] = e.MonteCarloPrompts == 0 ? 0 : MonteCarloAnchors,
            ["output_target_coverage_max"] = e.TargetCoverageMax,
            ["output_acceptance_mean"] = e.AcceptanceMean,
        };
    }

    private sealed record Evaluation(TabularPolicy Policy, double SampleCost, double TargetCoverageMax, double AcceptanceMean, int MonteCarloPrompts);

    private Evaluation Evaluate(EnumerableInstance instance)
    {
        lock (_theta)
        {
            if (ReferenceEquals(_cachedFor, instance) && _cached is not null) return _cached;
            if (instance.Dimension != _theta.Length)
                throw new ArgumentException($"policy has dimension {_theta.Length}, instance has {instance.Dimension}");
            int d = _theta.Length;
            // Σ_span⁻¹ = L Lᵀ: ‖v‖²_{Σ_span⁻¹} = ‖Lᵀv‖².
            var factor = (double[])_sigmaInverse.Clone();
            if (!Cholesky.Factor(factor, d)) throw new InvalidOperationException("Σ_span⁻¹ is not positive definite");
            var rng = new Rng(_monteCarloSeed);
            var logProbs = new double[instance.Prompts.Count][];
            double cost = 0, acceptance = 0, totalWeight = 0, coverageMax = 0;
            int monteCarloPrompts = 0;
            for (int x = 0; x < logProbs.Length; x++)
            {
                var prompt = instance.Prompts[x];
                bool exact = prompt.ResponseCount <= ExactLimit;
                if (!exact) monteCarloPrompts++;
                var r = TabulatePrompt(prompt, factor, exact, rng.Split((ulong)x));
                logProbs[x] = r.LogProbs;
                coverageMax = Math.Max(coverageMax, r.CoverageMax);
                if (prompt.Weight > 0)
                {
                    cost += prompt.Weight * r.SampleCost;
                    acceptance += prompt.Weight * r.Acceptance;
                    totalWeight += prompt.Weight;
                }
            }
            _cached = new Evaluation(new TabularPolicy(logProbs), cost / totalWeight, coverageMax, acceptance / totalWeight, monteCarloPrompts);
            _cachedFor = instance;
            return _cached;
        }
    }

    private readonly record struct PromptResult(double[] LogProbs, double SampleCost, double Acceptance, double CoverageMax);

    private PromptResult TabulatePrompt(EnumerablePrompt prompt, double[] factor, bool exact, Rng rng)
    {
        int n = prompt.ResponseCount, d = _theta.Length;
        double nuSquared = _nu * _nu;
        // Whitened features, column j contiguous: psi[j·n + y] = (Lᵀφ_y)_j = Σ_{i≥j} L[i,j]·φ_y[i].
        var psi = new double[(long)d * n];
        var s = new double[n];           // s(y) = ⟨θ̂, φ(y)⟩/β
        var refProb = new double[n];
        var logRef = prompt.LogRefProbs;
        for (int y = 0; y < n; y++)
        {
            var phi = prompt.FeatureRow(y);
            for (int j = 0; j < d; j++)
            {
                double acc = 0;
                for (int i = j; i < d; i++) acc += factor[i * d + j] * phi[i];
                psi[(long)j * n + y] = acc;
            }
            s[y] = TensorPrimitives.Dot(phi, _theta) / _beta;
            refProb[y] = Math.Exp(logRef[y]);
        }

        var dist = new double[n];
        var diff = new double[n];
        var e = new double[n];
        var mixture = new double[n];
        int anchors = exact ? n : MonteCarloAnchors;
        double cost = 0, acceptanceSum = 0, coverageMax = 0;
        for (int k = 0; k < anchors; k++)
        {
            int a = exact ? k : prompt.RefSampler.Sample(rng);
            double weight = exact ? refProb[a] : 1.0 / MonteCarloAnchors;
            if (weight == 0) continue;

            // dist(y) = ‖ψ(y) − ψ(a)‖², vectorized column by column.
            dist.AsSpan().Clear();
            for (int j = 0; j < d; j++)
            {
                var column = new ReadOnlySpan<double>(psi, j * n, n);
                TensorPrimitives.Subtract(column, column[a], diff);
                TensorPrimitives.MultiplyAdd(diff, diff, dist, dist);
            }

            // e(y) = log π_ref(y) + f_a(y)/β with f_a(y)/β = s(y) − s(a) inside the ν-ball, 0 outside.
            double sa = s[a];
            double maxE = double.NegativeInfinity, maxF = 0;
            for (int y = 0; y < n; y++)
            {
                double fy = dist[y] <= nuSquared ? s[y] - sa : 0;
                if (fy > maxF) maxF = fy;
                double ey = logRef[y] + fy;
                e[y] = ey;
                if (ey > maxE) maxE = ey;
            }
            // π̄(y|a) = exp(e(y) − log Z_a), log Z_a = maxE + log Σ exp(e − maxE).
            TensorPrimitives.Subtract(e, maxE, e);
            TensorPrimitives.Exp(e, e);
            double sum = TensorPrimitives.Sum(e);
            double logZ = maxE + Math.Log(sum);
            TensorPrimitives.MultiplyAdd(e, weight / sum, mixture, mixture);

            // Acceptance probability of one proposal with exact Z: p = Σ_y min(π_ref(y), π̄(y|a)/M).
            TensorPrimitives.Multiply(e, 1.0 / (sum * CoverageGuess), diff);
            TensorPrimitives.Min(diff, refProb, diff);
            double p = Math.Min(1, TensorPrimitives.Sum(diff));
            double proposals = p <= 0 ? MaxProposals : -double.ExpM1(MaxProposals * double.LogP1(-p)) / p;
            cost += weight * (1 + NormalizerSamples + proposals);
            acceptanceSum += weight * p;
            coverageMax = Math.Max(coverageMax, Math.Exp(maxF - logZ));   // max_y π̄(y|a)/π_ref(y)
        }

        var logProbs = new double[n];
        double total = TensorPrimitives.Sum(mixture);
        for (int y = 0; y < n; y++) logProbs[y] = mixture[y] > 0 ? Math.Log(mixture[y] / total) : double.NegativeInfinity;
        double weightTotal = exact ? TensorPrimitives.Sum(refProb) : 1;
        return new PromptResult(logProbs, cost / weightTotal, acceptanceSum / weightTotal, coverageMax);
    }
}
