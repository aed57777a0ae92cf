using System.Numerics.Tensors;
using LmExplore.Numerics;

namespace LmExplore.Policies;

/// <summary>
/// The exact law of <see cref="EnvelopeSampler"/> on one prompt, for log-weights g(y) = f(y)/β (any common shift):
/// with levels g₁ &gt; g₂ &gt; … of g, π_ref-masses μ_k, and U_k = Σ_{j&lt;k} μ_j the mass strictly above level k,
/// <code>
/// P(pilot max = g_k) = (1 − U_k)^m − (1 − U_k − μ_k)^m                                   (m iid pilot draws)
/// p_k = Σ_{j≤k} μ_j + Σ_{j&gt;k} μ_j·e^{g_j − g_k}                                       (acceptance per proposal)
/// P(y | τ = e^{g_k}) = S_k·π_ref(y)·min(1, e^{g(y) − g_k}) + F_k·π_ref(y),
/// S_k = (1 − (1 − p_k)^{N−1})/p_k,  F_k = (1 − p_k)^{N−1}                                (y_N is returned as drawn)
/// </code>
/// and P(y) = Σ_k P(max = g_k)·P(y | τ = e^{g_k}). Given the responses in descending order of g, every sum is a
/// prefix or suffix sum, so one call costs O(|Y|) and allocates nothing (scratch buffers are reused).
/// Everything is kept relative (e^{g_j − g_k} with g_j ≤ g_k), so no weight overflows whatever β.
/// </summary>
internal sealed class EnvelopeLaw
{
    /// <summary>Levels whose pilot-max probability is below this (summed over all lower levels) are dropped: their
    /// share of the law is below rounding of the result.</summary>
    private const double NegligibleTail = 1e-17;

    private readonly double[] _levelG, _levelMass, _levelP, _levelPS, _suffix, _sortedG, _sortedP, _tail;
    private readonly int[] _levelEnd;

    /// <summary>Scratch for prompts of up to <paramref name="responses"/> responses.</summary>
    public EnvelopeLaw(int responses)
    {
        _levelG = new double[responses];
        _levelMass = new double[responses];
        _levelP = new double[responses];
        _levelPS = new double[responses];
        _suffix = new double[responses + 1];
        _levelEnd = new int[responses];
        _sortedG = new double[responses];
        _sortedP = new double[responses];
        _tail = new double[responses];
    }

    /// <summary>What one call learned besides the law.</summary>
    /// <param name="Proposals">Expected proposals per draw.</param>
    /// <param name="Failure">Probability that no proposal is accepted.</param>
    /// <param name="Acceptance">Expected acceptance probability of one proposal.</param>
    public readonly record struct Summary(double Proposals, double Failure, double Acceptance);

    /// <summary>
    /// Adds <paramref name="weight"/>·P(y) to <paramref name="law"/> for every y. <paramref name="order"/> lists the
    /// responses by g descending (equal values adjacent); <paramref name="refProb"/> is π_ref(·|x).
    /// Only the top levels can be the pilot's maximum with non-negligible probability (all of them when m is small);
    /// the responses below them enter through one vectorized pass, so a call costs O(|Y|) simple operations plus
    /// O(active levels) transcendental ones.
    /// </summary>
    public Summary Accumulate(ReadOnlySpan<double> g, ReadOnlySpan<double> refProb, ReadOnlySpan<int> order,
        long pilotSamples, long maxProposals, double weight, Span<double> law)
    {
        int n = order.Length;
        for (int i = 0; i < n; i++)
        {
            _sortedG[i] = g[order[i]];
            _sortedP[i] = refProb[order[i]];
        }

        // Active levels, top down, with P(pilot max = level k) = (1 − U_k)^m − (1 − U_k − μ_k)^m; the level where the
        // rest falls below NegligibleTail takes that rest, so the P sum to 1.
        int levels = 0, iEnd = 0;
        double above = 0, upper = 1;
        while (iEnd < n)
        {
            double gk = _sortedG[iEnd], mass = 0;
            int i = iEnd;
            for (; i < n && _sortedG[i] == gk; i++) mass += _sortedP[i];
            iEnd = i;
            above += mass;
            double lower = above >= 1 ? 0 : Math.Exp(pilotSamples * PreciseMath.Log1P(-above));
            if (lower < NegligibleTail || iEnd == n) lower = 0;
            _levelG[levels] = gk;
            _levelMass[levels] = mass;
            _levelEnd[levels] = iEnd;
            _levelP[levels] = upper - lower;
            levels++;
            upper = lower;
            if (lower == 0) break;
        }

        // Below the lowest active level: E_i = e^{g_i − g_last} and below_last = Σ_tail π_ref·E (vectorized).
        int tailLength = n - iEnd;
        double gLast = _levelG[levels - 1];
        var tailG = _sortedG.AsSpan(iEnd, tailLength);
        var tailP = _sortedP.AsSpan(iEnd, tailLength);
        var tail = _tail.AsSpan(0, tailLength);
        TensorPrimitives.Subtract(tailG, gLast, tail);
        TensorPrimitives.Exp(tail, tail);
        double below = TensorPrimitives.Dot(tail, tailP);

        // Acceptance p_k = (mass at or above k) + below_k, walked bottom up: below_{k−1} = e^{g_k − g_{k−1}}(below_k + μ_k).
        double failureBranch = 0, proposals = 0, failure = 0, acceptance = 0;
        double massAbove = above;                                   // Σ_{j≤levels−1} μ_j
        for (int k = levels - 1; k >= 0; k--)
        {
            double p = Math.Min(1, massAbove + below);
            double pMax = _levelP[k];
            var (s, f) = CappedSamplerWeights(p, maxProposals);
            _levelPS[k] = pMax * s;
            failureBranch += pMax * f;
            double logMiss = p >= 1 ? double.NegativeInfinity : maxProposals * PreciseMath.Log1P(-p);   // log (1 − p)^N
            proposals += pMax * (p <= 0 ? maxProposals : -PreciseMath.ExpM1(logMiss) / p);
            failure += pMax * Math.Exp(logMiss);
            acceptance += pMax * p;
            if (k > 0) below = Math.Exp(_levelG[k] - _levelG[k - 1]) * (below + _levelMass[k]);
            massAbove -= _levelMass[k];
        }

        // Σ_{k≥j} P_k S_k (thresholds at or below y's level accept y surely); carry_j = Σ_{k<j} P_k S_k e^{g_j − g_k}.
        _suffix[levels] = 0;
        for (int k = levels - 1; k >= 0; k--) _suffix[k] = _suffix[k + 1] + _levelPS[k];
        double carry = 0;
        int start = 0;
        for (int j = 0; j < levels; j++)
        {
            if (j > 0) carry = Math.Exp(_levelG[j] - _levelG[j - 1]) * (carry + _levelPS[j - 1]);
            double factor = weight * (_suffix[j] + carry + failureBranch);
            for (int i = start; i < _levelEnd[j]; i++) law[order[i]] += factor * _sortedP[i];
            start = _levelEnd[j];
        }
        // Tail: factor = E_i·Σ_k P_k S_k e^{g_last − g_k} + F.
        if (tailLength > 0)
        {
            double carryLast = carry + _levelPS[levels - 1];
            TensorPrimitives.Multiply(tail, weight * carryLast, tail);
            TensorPrimitives.Add(tail, weight * failureBranch, tail);
            TensorPrimitives.Multiply(tail, tailP, tail);
            for (int i = 0; i < tailLength; i++) law[order[iEnd + i]] += tail[i];
        }
        return new Summary(proposals, failure, acceptance);
    }

    /// <summary>
    /// The output of N proposals with acceptance a(y) and p = Σ_y π_ref(y)·a(y): proposal i ≤ N − 1 returns y when
    /// proposals 1..i−1 were rejected and y_i = y was accepted; proposal N is returned whether accepted or not. Hence
    /// <code>P(y) = S·π_ref(y)·a(y) + F·π_ref(y),  S = (1 − (1 − p)^{N−1})/p,  F = (1 − p)^{N−1},</code>
    /// evaluated as S = −expm1((N−1)·log1p(−p))/p and F = exp((N−1)·log1p(−p)): no cancellation for tiny p and
    /// huge N (S → N − 1 as p → 0). Σ_y P(y) = p·S + F = 1.
    /// </summary>
    internal static (double AcceptedScale, double Failure) CappedSamplerWeights(double p, long maxProposals)
    {
        long tries = maxProposals - 1;                          // proposals that may be rejected before the last one
        if (tries <= 0) return (0, 1);                          // N = 1: the single proposal is returned as drawn
        if (!(p > 0)) return (tries, 1);                        // nothing can be accepted: y_N ~ π_ref
        if (p >= 1) return (1, 0);
        double logFailure = tries * PreciseMath.Log1P(-p);     // log (1 − p)^{N−1}
        return (-PreciseMath.ExpM1(logFailure) / p, Math.Exp(logFailure));
    }
}
