using LmExplore.Numerics;
using System.Numerics.Tensors;
using LmExplore.Algorithms;
using LmExplore.Instances;

namespace LmExplore.Policies;

/// <summary>
/// A proper output: π_θ(y|x) ∝ π_ref(y|x)·exp(⟨θ,φ(x,y)⟩/β), tabulated exactly.
/// </summary>
/// <remarks>
/// Sample cost (our choice): the policy is drawn with SoftmaxSampler(⟨θ,φ⟩; β, M_x, δ) where M_x = C_cov(π_θ(·|x))
/// = max_y π_θ(y|x)/π_ref(y|x) — the smallest M for which the sampler is exact, computed exactly (an oracle
/// choice, favourable to the policy). With exact normalizer every proposal is accepted with probability 1/M_x, so
/// one draw costs m + (1 − (1 − 1/M_x)^N)·M_x calls, m = ⌈M_x⌉, N = ⌈4·M_x·ln(4/δ)⌉, averaged over x ~ ρ.
/// </remarks>
public sealed class LinearSoftmaxOutputPolicy : IOutputPolicy, IEvaluationDiagnostics
{
    private readonly double[] _theta;

    /// <summary>Creates π_θ; <paramref name="delta"/> is the sampler's failure probability used in the cost.</summary>
    public LinearSoftmaxOutputPolicy(ReadOnlySpan<double> theta, double delta)
    {
        _theta = theta.ToArray();
        Delta = delta;
    }

    /// <summary>θ.</summary>
    public ReadOnlySpan<double> Theta => _theta;
    /// <summary>δ of the output sampler.</summary>
    public double Delta { get; }

    /// <inheritdoc />
    public TabularPolicy Tabulate(EnumerableInstance instance) => TabularPolicy.LinearSoftmax(instance, _theta);

    /// <inheritdoc />
    public double ExpectedSampleCost(EnumerableInstance instance)
    {
        double cost = 0, total = 0;
        foreach (var prompt in instance.Prompts)
        {
            if (prompt.Weight <= 0) continue;
            var (m, n) = SamplerFor(prompt, instance.Beta);
            double proposals = -PreciseMath.ExpM1(n * PreciseMath.Log1P(-1 / m)) * m;
            if (m == 1) proposals = 1;
            cost += prompt.Weight * (Math.Ceiling(m) + proposals);
            total += prompt.Weight;
        }
        return cost / total;
    }

    /// <summary>M_x = C_cov(π_θ(·|x)) and N = ⌈4·M_x·ln(4/δ)⌉ of the output sampler at prompt x.</summary>
    private (double M, double N) SamplerFor(EnumerablePrompt prompt, double beta)
    {
        // log M_x = max_y s(y) − log Σ_y π_ref(y)·e^{s(y)}, s = ⟨θ,φ⟩/β.
        var acc = new Numerics.LogMath.Accumulator();
        double maxS = double.NegativeInfinity;
        for (int y = 0; y < prompt.ResponseCount; y++)
        {
            double s = TensorPrimitives.Dot(prompt.FeatureRow(y), _theta) / beta;
            maxS = Math.Max(maxS, s);
            acc.Add(prompt.LogRefProbs[y] + s);
        }
        double m = Math.Max(1, Math.Exp(maxS - acc.Value));
        // Rounding puts M a few ulps above an integer (M = 1 + 2e-16 for π_θ = π_ref); ⌈M⌉ must not count it as one
        // more normalizer sample.
        if (m - Math.Floor(m) <= 1e-12 * m) m = Math.Floor(m);
        return (m, Math.Ceiling(4 * m * Math.Log(4 / Delta)));
    }

    /// <summary>
    /// <c>suboptimality_sampler</c> as for SpannerSampling (docs/ALGORITHMS.md): the law of the real output sampler with
    /// exact Ẑ. With M_x = C_cov(π_θ(·|x)) every proposal is accepted with probability p = 1/M_x, so the law is exactly
    /// (1 − F_x)·π_θ + F_x·π_ref, F_x = (1 − 1/M_x)^{N−1} (the first N − 1 proposals all rejected; y_N is returned as
    /// drawn) — it differs from π_θ only through the failure branch. Also <c>output_sampler_failure_mean</c> = E_x (1 − 1/M_x)^N.
    /// </summary>
    public IReadOnlyDictionary<string, double> EvaluationDiagnostics(EnumerableInstance instance)
    {
        var target = Tabulate(instance);
        var logProbs = new double[instance.Prompts.Count][];
        double failure = 0, total = 0;
        for (int x = 0; x < logProbs.Length; x++)
        {
            var prompt = instance.Prompts[x];
            var (m, n) = SamplerFor(prompt, instance.Beta);
            // log(1 − 1/M) = −log1p(1/(M − 1)), accurate for M near 1 and for huge M.
            double log1mInv = m == 1 ? double.NegativeInfinity : -PreciseMath.Log1P(1 / (m - 1));
            double logF = (n - 1) * log1mInv;                      // log F_x (N ≥ 6, so no 0·∞)
            double log1mF = Math.Log(-PreciseMath.ExpM1(logF));         // log(1 − F_x)
            logProbs[x] = new double[prompt.ResponseCount];
            for (int y = 0; y < prompt.ResponseCount; y++)
                logProbs[x][y] = Numerics.LogMath.LogAddExp(log1mF + target.LogProbs[x][y], logF + prompt.LogRefProbs[y]);
            if (prompt.Weight <= 0) continue;
            failure += prompt.Weight * Math.Exp(n * log1mInv);
            total += prompt.Weight;
        }
        double jOpt = Evaluation.ExactEvaluator.OptimalValue(instance);
        return new Dictionary<string, double>
        {
            ["suboptimality_sampler"] = jOpt - Evaluation.ExactEvaluator.Value(instance, new TabularPolicy(logProbs)),
            ["output_sampler_failure_mean"] = failure / total,
        };
    }

}
