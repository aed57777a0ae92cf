using System.Numerics.Tensors;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Policies;

namespace LmExplore.Evaluation;

/// <summary>
/// Exact evaluation on enumerable instances (SPEC §1), in log space throughout so that β = 1e-4 with
/// rewards of size 100 stays finite:
/// J_β(π) = E_x[E_π r* − β·KL(π‖π_ref)], J_β(π*) = β·E_x log Z(x), C_cov(π*) = max_{x,y} π*/π_ref.
/// </summary>
/// <remarks>Every per-prompt sum streams through the prompt's arrays in blocks of <see cref="Block"/> doubles held
/// in a stack buffer, with <see cref="TensorPrimitives"/> doing the arithmetic (vectorized exp included): no
/// allocation, one pass per quantity. The per-element expressions are the textbook ones; only the order of
/// summation differs from a scalar loop (agreement with an independent compensated evaluator is tested to 1e-8
/// relative).</remarks>
public static class ExactEvaluator
{
    private const int Block = 512;

    /// <summary>log Z(x) = log E_{y~π_ref} exp(r*(x,y)/β).</summary>
    public static double LogPartition(EnumerablePrompt prompt, double beta) =>
        LogSumExpOfScaledRewards(prompt.LogRefProbs, prompt.Rewards, beta, shift: 0, factor: 1);

    /// <summary>J_β(π*_β) = β·E_x log Z(x).</summary>
    public static double OptimalValue(EnumerableInstance instance)
    {
        double j = 0;
        foreach (var p in instance.Prompts)
            if (p.Weight > 0) j += p.Weight * instance.Beta * LogPartition(p, instance.Beta);
        return j;
    }

    /// <summary>J_β(π_ref) = E_x E_{π_ref} r* (the KL term vanishes).</summary>
    public static double ReferenceValue(EnumerableInstance instance)
    {
        double j = 0;
        foreach (var p in instance.Prompts)
            if (p.Weight > 0) j += p.Weight * ReferenceMean(p);
        return j;
    }

    /// <summary>J_β(π) for a policy given explicitly.</summary>
    public static double Value(EnumerableInstance instance, TabularPolicy policy)
    {
        CheckShape(instance, policy);
        double beta = instance.Beta;
        Span<double> t = stackalloc double[Block];
        Span<double> pi = stackalloc double[Block];
        double j = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (p.Weight <= 0) continue;
            double e = 0;
            for (int i = 0; i < p.ResponseCount; i += Block)
            {
                int len = Math.Min(Block, p.ResponseCount - i);
                var logPi = policy.LogProbs[x].AsSpan(i, len);
                var logRef = p.LogRefProbs.AsSpan(i, len);
                var r = p.Rewards.AsSpan(i, len);
                if (double.IsNegativeInfinity(TensorPrimitives.Min(logPi)))
                {
                    // Zero-probability responses contribute nothing (0·log 0 = 0): handled one by one.
                    for (int y = 0; y < len; y++)
                        if (!double.IsNegativeInfinity(logPi[y])) e += Math.Exp(logPi[y]) * (r[y] - beta * (logPi[y] - logRef[y]));
                    continue;
                }
                // π(y)·(r(y) − β(log π(y) − log π_ref(y)))
                var tb = t[..len];
                TensorPrimitives.Subtract(logPi, logRef, tb);
                TensorPrimitives.Multiply(tb, beta, tb);
                TensorPrimitives.Subtract(r, tb, tb);
                TensorPrimitives.Exp(logPi, pi[..len]);
                e += TensorPrimitives.Dot(pi[..len], tb);
            }
            j += p.Weight * e;
        }
        return j;
    }

    /// <summary>E_x KL(π(·|x) ‖ π*_β(·|x)); by the identity, J(π*) − J(π) = β times this.</summary>
    public static double KlToOptimal(EnumerableInstance instance, TabularPolicy policy)
    {
        CheckShape(instance, policy);
        double beta = instance.Beta;
        Span<double> t = stackalloc double[Block];
        Span<double> pi = stackalloc double[Block];
        double kl = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (p.Weight <= 0) continue;
            double logZ = LogPartition(p, beta);
            double k = 0;
            for (int i = 0; i < p.ResponseCount; i += Block)
            {
                int len = Math.Min(Block, p.ResponseCount - i);
                var logPi = policy.LogProbs[x].AsSpan(i, len);
                var logRef = p.LogRefProbs.AsSpan(i, len);
                var r = p.Rewards.AsSpan(i, len);
                if (double.IsNegativeInfinity(TensorPrimitives.Min(logPi)))
                {
                    for (int y = 0; y < len; y++)
                    {
                        if (double.IsNegativeInfinity(logPi[y])) continue;
                        double logStar = logRef[y] + r[y] / beta - logZ;
                        k += Math.Exp(logPi[y]) * (logPi[y] - logStar);
                    }
                    continue;
                }
                // π(y)·(log π(y) − log π*(y)), log π* = log π_ref + r/β − log Z
                var tb = t[..len];
                TensorPrimitives.Divide(r, beta, tb);
                TensorPrimitives.Add(logRef, tb, tb);
                TensorPrimitives.Subtract(tb, logZ, tb);
                TensorPrimitives.Subtract(logPi, tb, tb);
                TensorPrimitives.Exp(logPi, pi[..len]);
                k += TensorPrimitives.Dot(pi[..len], tb);
            }
            kl += p.Weight * k;
        }
        return kl;
    }

    /// <summary>C_cov(π*) = max over prompts with ρ(x) &gt; 0 and responses of π*(y|x)/π_ref(y|x).</summary>
    public static double CoverageOfOptimal(EnumerableInstance instance) => Math.Exp(LogCoverageOfOptimal(instance));

    /// <summary>log C_cov(π*) (finite even when C_cov overflows a double).</summary>
    public static double LogCoverageOfOptimal(EnumerableInstance instance)
    {
        double best = double.NegativeInfinity;
        foreach (var p in instance.Prompts)
            if (p.Weight > 0) best = Math.Max(best, LogMaxRatio(p, instance.Beta, LogPartition(p, instance.Beta)));
        return best;
    }

    /// <summary>C_cov of an arbitrary policy: max π(y|x)/π_ref(y|x).</summary>
    public static double Coverage(EnumerableInstance instance, TabularPolicy policy)
    {
        CheckShape(instance, policy);
        Span<double> t = stackalloc double[Block];
        double best = double.NegativeInfinity;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (p.Weight <= 0) continue;
            for (int i = 0; i < p.ResponseCount; i += Block)
            {
                int len = Math.Min(Block, p.ResponseCount - i);
                TensorPrimitives.Subtract(policy.LogProbs[x].AsSpan(i, len), p.LogRefProbs.AsSpan(i, len), t[..len]);
                best = Math.Max(best, TensorPrimitives.Max(t[..len]));
            }
        }
        return Math.Exp(best);
    }

    /// <summary>Average coverage E_x E_{y~π*}[π*(y|x)/π_ref(y|x)] — what rejection sampling actually pays.</summary>
    public static double AverageCoverageOfOptimal(EnumerableInstance instance)
    {
        double total = 0;
        foreach (var p in instance.Prompts)
            if (p.Weight > 0) total += p.Weight * Math.Exp(LogSecondMoment(p, instance.Beta, LogPartition(p, instance.Beta)));
        return total;
    }

    /// <summary>All summary numbers of an instance (what <c>instance inspect</c> prints). Computes each log Z once.</summary>
    public static InstanceSummary Summarize(EnumerableInstance instance)
    {
        double beta = instance.Beta;
        double jOpt = 0, jRef = 0, avg = 0, logC = double.NegativeInfinity, rMax = double.NegativeInfinity;
        foreach (var p in instance.Prompts)
        {
            if (p.Weight <= 0) continue;
            double logZ = LogPartition(p, beta);
            jOpt += p.Weight * beta * logZ;
            jRef += p.Weight * ReferenceMean(p);
            logC = Math.Max(logC, LogMaxRatio(p, beta, logZ));
            avg += p.Weight * Math.Exp(LogSecondMoment(p, beta, logZ));
            rMax = Math.Max(rMax, Math.Abs(TensorPrimitives.MaxMagnitude(p.Rewards)));
        }
        return new InstanceSummary(
            Dimension: instance.Dimension,
            Prompts: instance.Prompts.Count,
            Responses: instance.TotalResponses,
            Beta: beta,
            RMax: rMax,
            JOpt: jOpt,
            JRef: jRef,
            CCov: Math.Exp(logC),
            AverageCoverage: avg);
    }

    /// <summary>E_{π_ref} r* on one prompt.</summary>
    /// <summary>E_{π_ref} r* with Neumaier-compensated summation: rewards of both signs can cancel to a mean near 0,
    /// where a plain (or SIMD) dot product loses the relative accuracy that exact evaluation promises.</summary>
    private static double ReferenceMean(EnumerablePrompt p)
    {
        Span<double> buffer = stackalloc double[Block];
        double sum = 0, compensation = 0;
        for (int i = 0; i < p.ResponseCount; i += Block)
        {
            int len = Math.Min(Block, p.ResponseCount - i);
            var b = buffer[..len];
            TensorPrimitives.Exp(p.LogRefProbs.AsSpan(i, len), b);
            TensorPrimitives.Multiply(b, p.Rewards.AsSpan(i, len), b);
            foreach (double term in b)
            {
                double t = sum + term;
                compensation += Math.Abs(sum) >= Math.Abs(term) ? (sum - t) + term : (term - t) + sum;
                sum = t;
            }
        }
        return sum + compensation;
    }

    /// <summary>max_y log π*/π_ref = max_y r/β − log Z (division by β &gt; 0 is monotone, so max r/β = (max r)/β).</summary>
    private static double LogMaxRatio(EnumerablePrompt p, double beta, double logZ) =>
        TensorPrimitives.Max(p.Rewards) / beta - logZ;

    /// <summary>log Σ_y π*²/π_ref = log Σ_y π_ref·exp(2(r/β − log Z)).</summary>
    private static double LogSecondMoment(EnumerablePrompt p, double beta, double logZ) =>
        LogSumExpOfScaledRewards(p.LogRefProbs, p.Rewards, beta, shift: logZ, factor: 2);

    /// <summary>log Σ_y exp(log π_ref(y) + factor·(r(y)/β − shift)) in one streaming pass: each block's maximum
    /// rescales the running sum when it exceeds the running maximum (online log-sum-exp by blocks).</summary>
    private static double LogSumExpOfScaledRewards(ReadOnlySpan<double> logRef, ReadOnlySpan<double> rewards, double beta, double shift, double factor)
    {
        Span<double> buffer = stackalloc double[Block];
        double max = double.NegativeInfinity, sum = 0;
        for (int i = 0; i < logRef.Length; i += Block)
        {
            int len = Math.Min(Block, logRef.Length - i);
            var b = buffer[..len];
            TensorPrimitives.Divide(rewards.Slice(i, len), beta, b);
            if (shift != 0) TensorPrimitives.Subtract(b, shift, b);
            if (factor != 1) TensorPrimitives.Multiply(b, factor, b);
            TensorPrimitives.Add(logRef.Slice(i, len), b, b);
            double blockMax = TensorPrimitives.Max(b);
            if (double.IsNaN(blockMax)) return double.NaN;
            if (double.IsNegativeInfinity(blockMax)) continue; // a block of zero-probability responses
            if (blockMax > max)
            {
                sum *= Math.Exp(max - blockMax); // 0 on the first block (max = −∞)
                max = blockMax;
            }
            TensorPrimitives.Subtract(b, max, b);
            TensorPrimitives.Exp(b, b);
            sum += TensorPrimitives.Sum(b);
        }
        return double.IsNegativeInfinity(max) ? double.NegativeInfinity : max + Math.Log(sum);
    }

    private static void CheckShape(EnumerableInstance instance, TabularPolicy policy)
    {
        if (policy.LogProbs.Length != instance.Prompts.Count)
            throw new ArgumentException($"policy has {policy.LogProbs.Length} prompts, instance has {instance.Prompts.Count}");
        for (int x = 0; x < policy.LogProbs.Length; x++)
            if (policy.LogProbs[x].Length != instance.Prompts[x].ResponseCount)
                throw new ArgumentException($"policy prompt {x} has {policy.LogProbs[x].Length} responses, instance has {instance.Prompts[x].ResponseCount}");
    }
}

/// <summary>Summary numbers of an enumerable instance.</summary>
public sealed record InstanceSummary(int Dimension, int Prompts, long Responses, double Beta, double RMax,
    double JOpt, double JRef, double CCov, double AverageCoverage);
