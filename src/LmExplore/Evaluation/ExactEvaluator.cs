using System.Numerics.Tensors;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Policies;

namespace LmExplore.Evaluation;

/// <summary>
/// Exact evaluation on enumerable instances (docs/FRAMEWORK.md), in log space throughout so that β = 1e-4 with
/// rewards of size 100 stays finite:
/// J_β(π) = E_x[E_π r* − β·KL(π‖π_ref)], J_β(π*) = β·E_x log Z(x), C_cov(π*) = max_{x,y} π*/π_ref.
/// </summary>
/// <remarks>
/// <para>Every per-prompt quantity is computed relative to the reference mean m(x) = E_{π_ref} r*: with
/// t(y) = (r*(y) − m)/β, log Z = m/β + G where G = log E_{π_ref} e^t ≥ 0 (Jensen). So J_opt − J_ref = β·E_x G is
/// computed directly, never as the difference of two large numbers: at β = 10³ with small rewards G ≈ Var(t)/2 is
/// far below the rounding of log Z itself (the old β·log Z gave J_opt &lt; J_ref there). When every |t| ≤
/// <see cref="SmallSpread"/>, G = log1p(E q(t)) with q(t) = e^t − 1 − t from its Taylor series (the first-order
/// term E t vanishes by the choice of m), so G keeps full relative precision however small.</para>
/// <para>π_ref and ρ are divided by their own total mass (1 up to the input tolerance of 1e-9): the samplers
/// draw ∝ π_ref and ∝ ρ, and the invariants below need normalized weights. Each printed value then obeys
/// J_ref ≤ J_opt ≤ R_max, J_opt ≥ E_x max_y (r* + β log π_ref) (up to rounding) and
/// C_cov ≥ average coverage ≥ 1; the last few ulps are clamped where rounding alone could break an
/// inequality that holds exactly (Jensen, Cauchy–Schwarz).</para>
/// <para>Sums stream through the prompt's arrays in blocks of <see cref="Block"/> doubles held in a stack buffer,
/// with <see cref="TensorPrimitives"/> doing the arithmetic (vectorized exp included): no allocation.</para>
/// </remarks>
public static class ExactEvaluator
{
    private const int Block = 512;

    /// <summary>Largest |t| = |r* − m|/β for which G is computed from the Taylor series of e^t − 1 − t (eight
    /// terms: relative truncation error &lt; 1e-17 at |2t| = 0.02); beyond it G ≥ 1e-5·Var-scale and log-sum-exp
    /// resolves it.</summary>
    private const double SmallSpread = 1e-2;

    /// <summary>log Z(x) = log E_{y~π_ref} exp(r*(x,y)/β), in one streaming pass (log Z itself is well conditioned; it is
    /// J_opt − J_ref that needs the centred form of <see cref="Stats"/>).</summary>
    public static double LogPartition(EnumerablePrompt prompt, double beta)
    {
        Span<double> b = stackalloc double[Block];
        double max = double.NegativeInfinity, sum = 0;
        for (int i = 0; i < prompt.ResponseCount; i += Block)
        {
            int len = Math.Min(Block, prompt.ResponseCount - i);
            var x = b[..len];
            TensorPrimitives.Divide(prompt.Rewards.AsSpan(i, len), beta, x);
            TensorPrimitives.Add(prompt.LogRefProbs.AsSpan(i, len), x, x);
            if (!Accumulate(x, ref max, ref sum)) return double.NaN;
        }
        return max + Math.Log(sum) - prompt.LogRefMass;
    }

    /// <summary>J_β(π*_β) = β·E_x log Z(x).</summary>
    public static double OptimalValue(EnumerableInstance instance) => Summarize(instance).JOpt;

    /// <summary>J_β(π_ref) = E_x E_{π_ref} r* (the KL term vanishes).</summary>
    public static double ReferenceValue(EnumerableInstance instance) => Summarize(instance).JRef;

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
                double logMass = p.LogRefMass;
                if (double.IsNegativeInfinity(TensorPrimitives.Min(logPi)))
                {
                    // Zero-probability responses contribute nothing (0·log 0 = 0): handled one by one.
                    for (int y = 0; y < len; y++)
                        if (!double.IsNegativeInfinity(logPi[y])) e += Math.Exp(logPi[y]) * (r[y] - beta * (logPi[y] - (logRef[y] - logMass)));
                    continue;
                }
                // π(y)·(r(y) − β(log π(y) − log π_ref(y))), π_ref normalized by its mass
                var tb = t[..len];
                TensorPrimitives.Subtract(logPi, logRef, tb);
                if (logMass != 0) TensorPrimitives.Add(tb, logMass, tb);
                TensorPrimitives.Multiply(tb, beta, tb);
                TensorPrimitives.Subtract(r, tb, tb);
                TensorPrimitives.Exp(logPi, pi[..len]);
                e += TensorPrimitives.Dot(pi[..len], tb);
            }
            j += p.Weight * e;
        }
        return j / PositiveWeight(instance);
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
            // log π* = (log π_ref − log mass) + t − G with t = (r − m)/β: no large log Z to cancel.
            var st = Stats(p, beta);
            double shift = p.LogRefMass + st.Gap;
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
                        double logStar = logRef[y] + (r[y] - st.RefMean) / beta - shift;
                        k += Math.Exp(logPi[y]) * (logPi[y] - logStar);
                    }
                    continue;
                }
                // π(y)·(log π(y) − log π*(y))
                var tb = t[..len];
                TensorPrimitives.Subtract(r, st.RefMean, tb);
                TensorPrimitives.Divide(tb, beta, tb);
                TensorPrimitives.Add(logRef, tb, tb);
                TensorPrimitives.Subtract(tb, shift, tb);
                TensorPrimitives.Subtract(logPi, tb, tb);
                TensorPrimitives.Exp(logPi, pi[..len]);
                k += TensorPrimitives.Dot(pi[..len], tb);
            }
            kl += p.Weight * k;
        }
        return kl / PositiveWeight(instance);
    }

    /// <summary>C_cov(π*) = max over prompts with ρ(x) &gt; 0 and responses of π*(y|x)/π_ref(y|x)
    /// (+∞ when it exceeds a double; <see cref="LogCoverageOfOptimal"/> is always finite).</summary>
    public static double CoverageOfOptimal(EnumerableInstance instance) => Summarize(instance).CCov;

    /// <summary>log C_cov(π*) (finite even when C_cov overflows a double).</summary>
    public static double LogCoverageOfOptimal(EnumerableInstance instance) => Summarize(instance).LogCCov;

    /// <summary>Average coverage E_x E_{y~π*}[π*(y|x)/π_ref(y|x)] — what rejection sampling actually pays
    /// (+∞ when it exceeds a double; see <see cref="InstanceSummary.LogAverageCoverage"/>).</summary>
    public static double AverageCoverageOfOptimal(EnumerableInstance instance) => Summarize(instance).AverageCoverage;

    /// <summary>All summary numbers of an instance (what <c>instance inspect</c> prints), from one
    /// <see cref="Stats"/> per prompt, so they obey J_ref ≤ J_opt ≤ R_max and C_cov ≥ average coverage ≥ 1.</summary>
    public static InstanceSummary Summarize(EnumerableInstance instance)
    {
        double beta = instance.Beta;
        double weightTotal = PositiveWeight(instance);
        double jOpt = 0, jRef = 0, logC = 0, rMax = 0;
        var logAvg = new LogMath.Accumulator();
        for (int x = 0; x < instance.Prompts.Count; x++)   // indexed: no enumerator allocation
        {
            var p = instance.Prompts[x];
            if (p.Weight <= 0) continue;
            double w = p.Weight / weightTotal;
            var st = Stats(p, beta);
            jRef += w * st.RefMean;
            // m + β·G ≥ m term by term, so (rounding being monotone) the weighted sums keep J_opt ≥ J_ref.
            jOpt += w * Math.Min(st.RefMean + beta * st.Gap, st.MaxReward);
            logC = Math.Max(logC, st.LogMaxRatio);
            logAvg.Add(Math.Log(w) + st.LogSecondMoment);
            rMax = Math.Max(rMax, st.MaxAbsReward);
        }
        // Σ w may round to 1 ± 1 ulp: keep the bounds that hold exactly.
        jOpt = Math.Min(jOpt, rMax);
        jRef = Math.Clamp(jRef, -rMax, jOpt);
        double logAverage = Math.Clamp(logAvg.Value, 0, logC);
        return new InstanceSummary(
            Dimension: instance.Dimension,
            Prompts: instance.Prompts.Count,
            Responses: instance.TotalResponses,
            Beta: beta,
            RMax: rMax,
            JOpt: jOpt,
            JRef: jRef,
            CCov: Math.Exp(logC),
            AverageCoverage: Math.Exp(logAverage))
        {
            LogCCov = logC,
            LogAverageCoverage = logAverage,
        };
    }

    /// <summary>What the evaluation needs of one prompt, relative to the reference mean (see the class remarks).</summary>
    /// <param name="RefMean">m = E_{π_ref} r* (π_ref normalized), within [min r*, max r*].</param>
    /// <param name="Gap">G = log Z − m/β ∈ [0, (max r* − m)/β].</param>
    /// <param name="MaxReward">max_y r*.</param>
    /// <param name="MaxAbsReward">max_y |r*|.</param>
    /// <param name="LogMaxRatio">max_y log π*/π_ref = (max r* − m)/β − G ≥ 0.</param>
    /// <param name="LogSecondMoment">log E_{π*}[π*/π_ref] ∈ [0, LogMaxRatio].</param>
    internal readonly record struct PromptStats(double RefMean, double Gap, double MaxReward, double MaxAbsReward,
        double LogMaxRatio, double LogSecondMoment);

    /// <summary>The per-prompt quantities in two streaming passes (reference mean, then G and the second moment).</summary>
    internal static PromptStats Stats(EnumerablePrompt p, double beta)
    {
        var rewards = p.Rewards;
        double rMax = TensorPrimitives.Max(rewards), rMin = TensorPrimitives.Min(rewards);
        double rAbs = Math.Abs(TensorPrimitives.MaxMagnitude(rewards));
        double mean = Math.Clamp(ReferenceMean(p), rMin, rMax);
        double tMax = (rMax - mean) / beta, tMin = (rMin - mean) / beta;
        double gap, logSecond;
        if (Math.Max(tMax, -tMin) <= SmallSpread) (gap, logSecond) = GapBySeries(p, beta, mean);
        else (gap, logSecond) = GapByLogSumExp(p, beta, mean);
        if (double.IsNaN(gap) || double.IsNaN(logSecond) || double.IsNaN(mean))
            return new PromptStats(double.NaN, double.NaN, rMax, rAbs, double.NaN, double.NaN);
        gap = Math.Clamp(gap, 0, tMax);
        double logMaxRatio = tMax - gap;
        return new PromptStats(mean, gap, rMax, rAbs, logMaxRatio, Math.Clamp(logSecond, 0, logMaxRatio));
    }

    /// <summary>E_{π_ref} r* (π_ref normalized) with Neumaier-compensated summation: rewards of both signs can cancel
    /// to a mean near 0, where a plain (or SIMD) dot product loses the relative accuracy that exact evaluation promises.</summary>
    private static double ReferenceMean(EnumerablePrompt p)
    {
        Span<double> buffer = stackalloc double[Block];
        double sum = 0, compensation = 0, logMass = p.LogRefMass;
        for (int i = 0; i < p.ResponseCount; i += Block)
        {
            int len = Math.Min(Block, p.ResponseCount - i);
            var b = buffer[..len];
            TensorPrimitives.Subtract(p.LogRefProbs.AsSpan(i, len), logMass, b);
            TensorPrimitives.Exp(b, b);
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

    /// <summary>G = log1p(E q(t)) and log E e^{2t} − 2G = log1p(E q(2t)) − 2G, q(t) = e^t − 1 − t by Taylor series,
    /// for |t| ≤ <see cref="SmallSpread"/>. E t = 0 by the choice of m, so it is left out rather than summed as noise.</summary>
    private static (double Gap, double LogSecond) GapBySeries(EnumerablePrompt p, double beta, double mean)
    {
        Span<double> prob = stackalloc double[Block];
        double s1 = 0, s2 = 0, logMass = p.LogRefMass;
        for (int i = 0; i < p.ResponseCount; i += Block)
        {
            int len = Math.Min(Block, p.ResponseCount - i);
            var pb = prob[..len];
            TensorPrimitives.Subtract(p.LogRefProbs.AsSpan(i, len), logMass, pb);
            TensorPrimitives.Exp(pb, pb);
            var r = p.Rewards.AsSpan(i, len);
            for (int y = 0; y < len; y++)
            {
                double t = (r[y] - mean) / beta;
                s1 += pb[y] * ExpM1MinusX(t);
                s2 += pb[y] * ExpM1MinusX(2 * t);
            }
        }
        double gap = PreciseMath.Log1P(s1);
        return (gap, PreciseMath.Log1P(s2) - 2 * gap);
    }

    /// <summary>e^t − 1 − t for |t| ≤ 0.02, Horner form of Σ_{k=2..9} t^k/k!.</summary>
    private static double ExpM1MinusX(double t) =>
        t * t * (1.0 / 2 + t * (1.0 / 6 + t * (1.0 / 24 + t * (1.0 / 120 + t * (1.0 / 720 + t * (1.0 / 5040 + t * (1.0 / 40320 + t / 362880)))))));

    /// <summary>G = log Σ π_ref e^t and log Σ π_ref e^{2t} − 2G in one streaming pass: each block's maximum rescales the
    /// running sums when it exceeds the running maximum (online log-sum-exp by blocks).</summary>
    private static (double Gap, double LogSecond) GapByLogSumExp(EnumerablePrompt p, double beta, double mean)
    {
        Span<double> t = stackalloc double[Block];
        Span<double> b1 = stackalloc double[Block];
        Span<double> b2 = stackalloc double[Block];
        double max1 = double.NegativeInfinity, sum1 = 0, max2 = double.NegativeInfinity, sum2 = 0, logMass = p.LogRefMass;
        for (int i = 0; i < p.ResponseCount; i += Block)
        {
            int len = Math.Min(Block, p.ResponseCount - i);
            var tb = t[..len];
            var x1 = b1[..len];
            var x2 = b2[..len];
            TensorPrimitives.Subtract(p.Rewards.AsSpan(i, len), mean, tb);
            TensorPrimitives.Divide(tb, beta, tb);
            TensorPrimitives.Subtract(p.LogRefProbs.AsSpan(i, len), logMass, x1);
            TensorPrimitives.Add(x1, tb, x1);   // log π_ref + t
            TensorPrimitives.Add(x1, tb, x2);   // log π_ref + 2t
            if (!Accumulate(x1, ref max1, ref sum1) || !Accumulate(x2, ref max2, ref sum2)) return (double.NaN, double.NaN);
        }
        double gap = max1 + Math.Log(sum1);
        return (gap, max2 + Math.Log(sum2) - 2 * gap);
    }

    /// <summary>Adds Σ exp(values) to the running (max, sum) pair; false on NaN. Overwrites <paramref name="values"/>.</summary>
    private static bool Accumulate(Span<double> values, ref double max, ref double sum)
    {
        double blockMax = TensorPrimitives.Max(values);
        if (double.IsNaN(blockMax)) return false;
        if (double.IsNegativeInfinity(blockMax)) return true; // a block of zero-probability responses
        if (blockMax > max)
        {
            sum *= Math.Exp(max - blockMax); // 0 on the first block (max = −∞)
            max = blockMax;
        }
        TensorPrimitives.Subtract(values, max, values);
        TensorPrimitives.Exp(values, values);
        sum += TensorPrimitives.Sum(values);
        return true;
    }

    /// <summary>Σ ρ(x) over prompts with ρ(x) &gt; 0 (1 up to the input tolerance).</summary>
    private static double PositiveWeight(EnumerableInstance instance)
    {
        double total = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
            if (instance.Prompts[x].Weight > 0) total += instance.Prompts[x].Weight;
        return total;
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

/// <summary>Summary numbers of an enumerable instance. <see cref="CCov"/> and <see cref="AverageCoverage"/> are +∞
/// when they exceed a double; their logarithms are always finite.</summary>
public sealed record InstanceSummary(int Dimension, int Prompts, long Responses, double Beta, double RMax,
    double JOpt, double JRef, double CCov, double AverageCoverage)
{
    /// <summary>log C_cov(π*) ≥ 0.</summary>
    public double LogCCov { get; init; } = Math.Log(CCov);

    /// <summary>log of the average coverage, in [0, <see cref="LogCCov"/>].</summary>
    public double LogAverageCoverage { get; init; } = Math.Log(AverageCoverage);
}
