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
public sealed class LinearSoftmaxOutputPolicy : IOutputPolicy
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
            // log M_x = max_y s(y) − log Σ_y π_ref(y)·e^{s(y)}, s = ⟨θ,φ⟩/β.
            var acc = new Numerics.LogMath.Accumulator();
            double maxS = double.NegativeInfinity;
            for (int y = 0; y < prompt.ResponseCount; y++)
            {
                double s = TensorPrimitives.Dot(prompt.FeatureRow(y), _theta) / instance.Beta;
                maxS = Math.Max(maxS, s);
                acc.Add(prompt.LogRefProbs[y] + s);
            }
            double m = Math.Max(1, Math.Exp(maxS - acc.Value));
            double n = Math.Ceiling(4 * m * Math.Log(4 / Delta));
            double proposals = -double.ExpM1(n * double.LogP1(-1 / m)) * m;
            if (m == 1) proposals = 1;
            cost += prompt.Weight * (Math.Ceiling(m) + proposals);
            total += prompt.Weight;
        }
        return cost / total;
    }
}
