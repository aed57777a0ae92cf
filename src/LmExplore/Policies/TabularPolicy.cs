using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Policies;

/// <summary>
/// A policy on an enumerable instance given explicitly: log π(y|x) for every prompt and response.
/// This is what exact evaluation consumes; samplers and learned parameters are turned into one.
/// </summary>
public sealed class TabularPolicy
{
    /// <summary>Wraps per-prompt log-probability arrays (not copied). Each must be normalized.</summary>
    public TabularPolicy(double[][] logProbs) => LogProbs = logProbs;

    /// <summary>log π(y|x), indexed [prompt][response].</summary>
    public double[][] LogProbs { get; }

    /// <summary>π_ref itself.</summary>
    public static TabularPolicy Reference(EnumerableInstance instance) =>
        new(instance.Prompts.Select(p => (double[])p.LogRefProbs.Clone()).ToArray());

    /// <summary>The linear softmax policy π_θ(y|x) ∝ π_ref(y|x)·exp(⟨θ, φ(x,y)⟩/β), exactly.</summary>
    public static TabularPolicy LinearSoftmax(EnumerableInstance instance, ReadOnlySpan<double> theta)
    {
        var result = new double[instance.Prompts.Count][];
        for (int x = 0; x < result.Length; x++)
        {
            var prompt = instance.Prompts[x];
            var logits = new double[prompt.ResponseCount];
            for (int y = 0; y < logits.Length; y++)
                logits[y] = prompt.LogRefProbs[y] + System.Numerics.Tensors.TensorPrimitives.Dot(prompt.FeatureRow(y), theta) / instance.Beta;
            Normalize(logits);
            result[x] = logits;
        }
        return new TabularPolicy(result);
    }

    /// <summary>The KL-regularized optimum π*_β(y|x) = π_ref·exp(r*/β)/Z(x).</summary>
    public static TabularPolicy Optimal(EnumerableInstance instance) => LinearSoftmax(instance, instance.Theta);

    /// <summary>Subtracts log-sum-exp in place so that the logits become normalized log-probabilities.</summary>
    public static void Normalize(Span<double> logits)
    {
        double lse = LogMath.LogSumExp(logits);
        for (int i = 0; i < logits.Length; i++) logits[i] -= lse;
    }

    /// <summary>C_cov of this policy: max over prompts of positive weight and responses of π(y|x)/π_ref(y|x).</summary>
    public double Coverage(EnumerableInstance instance)
    {
        if (LogProbs.Length != instance.Prompts.Count) throw new ArgumentException("the policy and the instance have different prompt counts");
        const int block = 512;
        Span<double> t = stackalloc double[block];
        double best = double.NegativeInfinity;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (LogProbs[x].Length != p.ResponseCount) throw new ArgumentException($"prompt {x}: the policy and the instance have different response counts");
            if (p.Weight <= 0) continue;
            for (int i = 0; i < p.ResponseCount; i += block)
            {
                int len = Math.Min(block, p.ResponseCount - i);
                System.Numerics.Tensors.TensorPrimitives.Subtract(LogProbs[x].AsSpan(i, len), p.LogRefProbs.AsSpan(i, len), t[..len]);
                best = Math.Max(best, System.Numerics.Tensors.TensorPrimitives.Max(t[..len]));
            }
        }
        return Math.Exp(best);
    }
}
