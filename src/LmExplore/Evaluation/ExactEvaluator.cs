using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Policies;

namespace LmExplore.Evaluation;

/// <summary>
/// Exact evaluation on enumerable instances (SPEC §1), in log space throughout so that β = 1e-4 with
/// rewards of size 100 stays finite:
/// J_β(π) = E_x[E_π r* − β·KL(π‖π_ref)], J_β(π*) = β·E_x log Z(x), C_cov(π*) = max_{x,y} π*/π_ref.
/// </summary>
public static class ExactEvaluator
{
    /// <summary>log Z(x) = log E_{y~π_ref} exp(r*(x,y)/β).</summary>
    public static double LogPartition(EnumerablePrompt prompt, double beta)
    {
        var acc = new LogMath.Accumulator();
        for (int y = 0; y < prompt.ResponseCount; y++) acc.Add(prompt.LogRefProbs[y] + prompt.Rewards[y] / beta);
        return acc.Value;
    }

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
        {
            if (p.Weight <= 0) continue;
            double e = 0;
            for (int y = 0; y < p.ResponseCount; y++) e += Math.Exp(p.LogRefProbs[y]) * p.Rewards[y];
            j += p.Weight * e;
        }
        return j;
    }

    /// <summary>J_β(π) for a policy given explicitly.</summary>
    public static double Value(EnumerableInstance instance, TabularPolicy policy)
    {
        CheckShape(instance, policy);
        double j = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (p.Weight <= 0) continue;
            var logPi = policy.LogProbs[x];
            double e = 0;
            for (int y = 0; y < p.ResponseCount; y++)
            {
                if (double.IsNegativeInfinity(logPi[y])) continue;
                double pi = Math.Exp(logPi[y]);
                e += pi * (p.Rewards[y] - instance.Beta * (logPi[y] - p.LogRefProbs[y]));
            }
            j += p.Weight * e;
        }
        return j;
    }

    /// <summary>E_x KL(π(·|x) ‖ π*_β(·|x)); by the identity, J(π*) − J(π) = β times this.</summary>
    public static double KlToOptimal(EnumerableInstance instance, TabularPolicy policy)
    {
        CheckShape(instance, policy);
        double kl = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (p.Weight <= 0) continue;
            double logZ = LogPartition(p, instance.Beta);
            var logPi = policy.LogProbs[x];
            double k = 0;
            for (int y = 0; y < p.ResponseCount; y++)
            {
                if (double.IsNegativeInfinity(logPi[y])) continue;
                double logStar = p.LogRefProbs[y] + p.Rewards[y] / instance.Beta - logZ;
                k += Math.Exp(logPi[y]) * (logPi[y] - logStar);
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
        {
            if (p.Weight <= 0) continue;
            double logZ = LogPartition(p, instance.Beta);
            for (int y = 0; y < p.ResponseCount; y++) best = Math.Max(best, p.Rewards[y] / instance.Beta - logZ);
        }
        return best;
    }

    /// <summary>C_cov of an arbitrary policy: max π(y|x)/π_ref(y|x).</summary>
    public static double Coverage(EnumerableInstance instance, TabularPolicy policy)
    {
        CheckShape(instance, policy);
        double best = double.NegativeInfinity;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            var p = instance.Prompts[x];
            if (p.Weight <= 0) continue;
            for (int y = 0; y < p.ResponseCount; y++) best = Math.Max(best, policy.LogProbs[x][y] - p.LogRefProbs[y]);
        }
        return Math.Exp(best);
    }

    /// <summary>Average coverage E_x E_{y~π*}[π*(y|x)/π_ref(y|x)] — what rejection sampling actually pays.</summary>
    public static double AverageCoverageOfOptimal(EnumerableInstance instance)
    {
        double total = 0;
        foreach (var p in instance.Prompts)
        {
            if (p.Weight <= 0) continue;
            double logZ = LogPartition(p, instance.Beta);
            var acc = new LogMath.Accumulator();
            // Σ_y π*² / π_ref = Σ_y π_ref·exp(2(r/β − log Z)).
            for (int y = 0; y < p.ResponseCount; y++) acc.Add(p.LogRefProbs[y] + 2 * (p.Rewards[y] / instance.Beta - logZ));
            total += p.Weight * Math.Exp(acc.Value);
        }
        return total;
    }

    /// <summary>All summary numbers of an instance (what <c>instance inspect</c> prints).</summary>
    public static InstanceSummary Summarize(EnumerableInstance instance) => new(
        Dimension: instance.Dimension,
        Prompts: instance.Prompts.Count,
        Responses: instance.TotalResponses,
        Beta: instance.Beta,
        RMax: instance.RMax,
        JOpt: OptimalValue(instance),
        JRef: ReferenceValue(instance),
        CCov: CoverageOfOptimal(instance),
        AverageCoverage: AverageCoverageOfOptimal(instance));

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
