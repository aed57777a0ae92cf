using LmExplore.Instances;
using LmExplore.Policies;

namespace LmExplore.Evaluation;

/// <summary>How good an output policy is, measured on the law of its sampler as a user would call it.</summary>
/// <param name="JOut">J_β of the sampler's law.</param>
/// <param name="Suboptimality">J_opt − J_out (the headline).</param>
/// <param name="CiLow">Lower end of a 95 % interval for <paramref name="Suboptimality"/>; null when it is exact.</param>
/// <param name="CiHigh">Upper end of that interval; null when exact.</param>
/// <param name="Method">Exact, or Monte Carlo with the interval above.</param>
/// <param name="ExpectedReward">E_{x~ρ, y~output}[r*(x,y)].</param>
/// <param name="SuboptimalityTarget">J_opt − J_β of the sampler's idealized target (diagnostic).</param>
/// <param name="SampleCost">Expected sampling-oracle calls per output draw.</param>
/// <param name="ReachedEpsilon">Suboptimality ≤ ε — for a Monte Carlo estimate, its whole interval.</param>
/// <param name="Diagnostics">The output law's own diagnostics.</param>
public sealed record OutputEvaluation(double JOut, double Suboptimality, double? CiLow, double? CiHigh, EvaluationKind Method,
    double ExpectedReward, double SuboptimalityTarget, double SampleCost, bool ReachedEpsilon,
    IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>Scores an output policy against ε. Implementations say whether their answer is exact.</summary>
public interface IOutputEvaluator
{
    /// <summary>Evaluates <paramref name="policy"/>; <paramref name="epsilon"/> decides <c>reached_epsilon</c>.</summary>
    OutputEvaluation Evaluate(IOutputPolicy policy, double epsilon);
}

/// <summary>
/// Evaluation on an enumerable instance: J of the output sampler's law by enumeration — exact when the law is
/// (<see cref="OutputLaw.MonteCarloBatches"/> null), otherwise the Monte Carlo law's value with a 95 % interval
/// from the spread of its <c>B</c> independent batches: ± t_{0.975, B−1}·sd/√B around the full estimate. Each batch
/// mixes B times fewer anchors, so its J is lower (KL is convex) and noisier: the interval is conservative.
/// </summary>
public sealed class EnumerableOutputEvaluator(EnumerableInstance instance) : IOutputEvaluator
{
    /// <summary>t_{0.975} with 7 degrees of freedom (8 batches).</summary>
    private const double StudentT7 = 2.3646;

    /// <inheritdoc />
    public OutputEvaluation Evaluate(IOutputPolicy policy, double epsilon)
    {
        var law = policy.Law(instance);
        double jOpt = ExactEvaluator.OptimalValue(instance);
        double jOut = ExactEvaluator.Value(instance, law.Sampler);
        double suboptimality = jOpt - jOut;
        double? low = null, high = null;
        if (law.MonteCarloBatches is { } batches)
        {
            if (batches.Length != 8) throw new InvalidOperationException("the interval assumes 8 Monte Carlo batches");
            var values = batches.Select(b => jOpt - ExactEvaluator.Value(instance, b)).ToArray();
            double mean = values.Average();
            double sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1));
            double half = StudentT7 * sd / Math.Sqrt(values.Length);
            low = suboptimality - half;
            high = suboptimality + half;
        }
        bool reached = (high ?? suboptimality) <= epsilon;
        return new OutputEvaluation(jOut, suboptimality, low, high, law.MonteCarloBatches is null ? EvaluationKind.Exact : EvaluationKind.MonteCarlo,
            ExpectedReward(instance, law.Sampler), jOpt - ExactEvaluator.Value(instance, law.Target), law.SampleCost, reached,
            law.Diagnostics);
    }

    /// <summary>E_{x~ρ, y~π}[r*(x,y)].</summary>
    public static double ExpectedReward(EnumerableInstance instance, TabularPolicy policy)
    {
        double total = 0, weight = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var prompt = instance.Prompts[x];
            if (prompt.Weight <= 0) continue;
            double r = 0;
            var logProbs = policy.LogProbs[x];
            for (int y = 0; y < logProbs.Length; y++)
                if (!double.IsNegativeInfinity(logProbs[y])) r += Math.Exp(logProbs[y]) * prompt.Rewards[y];
            total += prompt.Weight * r;
            weight += prompt.Weight;
        }
        return total / weight;
    }
}
