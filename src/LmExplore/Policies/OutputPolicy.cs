using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Policies;

/// <summary>
/// What an algorithm hands back: a sampler a user calls (<see cref="Sample"/>, through the same oracles a learner
/// uses, every call charged to the meter it is given) and, on an enumerable instance, the exact law of that
/// sampler as it runs (<see cref="Law"/>) — pilot, cap and failure branch included.
/// </summary>
public interface IOutputPolicy
{
    /// <summary>Draws one response exactly as a user would; <c>OracleCalls</c> counts every sample it took.</summary>
    SamplerDraw Sample(ILearnerEnvironment environment, Prompt prompt, Rng rng);

    /// <summary>The law of <see cref="Sample"/> on <paramref name="instance"/>, its idealized target, and its cost.</summary>
    OutputLaw Law(EnumerableInstance instance);
}

/// <summary>The law of an output sampler on an enumerable instance.</summary>
/// <param name="Sampler">The distribution of what <see cref="IOutputPolicy.Sample"/> returns (the headline is scored on it).</param>
/// <param name="Target">The distribution the sampler aims at (diagnostic <c>suboptimality_target</c>).</param>
/// <param name="SampleCost">Expected sampling-oracle calls per draw, averaged over x ~ ρ.</param>
/// <param name="MonteCarloBatches">Null when <paramref name="Sampler"/> is exact; otherwise the laws of independent
/// batches of the Monte Carlo average that produced it (their spread gives the confidence interval).</param>
/// <param name="Diagnostics">Extra numbers (acceptance, failure probability, pilot size, …), snake_case keys.</param>
public sealed record OutputLaw(TabularPolicy Sampler, TabularPolicy Target, double SampleCost, TabularPolicy[]? MonteCarloBatches,
    IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>Helpers the output policies share.</summary>
internal static class OutputLaws
{
    /// <summary>Indices 0..n−1 sorted by <paramref name="key"/> descending.</summary>
    public static int[] DescendingOrder(ReadOnlySpan<double> key)
    {
        var keys = new double[key.Length];
        var order = new int[key.Length];
        for (int i = 0; i < order.Length; i++) { keys[i] = -key[i]; order[i] = i; }
        Array.Sort(keys, order);
        return order;
    }

    /// <summary>Normalized log-probabilities of a nonnegative mass vector.</summary>
    public static double[] ToLogProbs(ReadOnlySpan<double> mass)
    {
        var logProbs = new double[mass.Length];
        double total = System.Numerics.Tensors.TensorPrimitives.Sum(mass);
        for (int y = 0; y < mass.Length; y++) logProbs[y] = mass[y] > 0 ? Math.Log(mass[y] / total) : double.NegativeInfinity;
        return logProbs;
    }
}
