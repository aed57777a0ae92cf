using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Policies;

/// <summary>A score f(y) on the responses of one prompt. Implemented by structs so sampler loops inline it.</summary>
public interface IResponseScore
{
    /// <summary>f(y).</summary>
    double Score(Response response);
}

/// <summary>What one sampler call produced.</summary>
/// <param name="Response">The returned response.</param>
/// <param name="Failed">True if no proposal was accepted and the last proposal was returned.</param>
/// <param name="OracleCalls">Sampling-oracle calls this draw cost (pilot samples and anchors included).</param>
public readonly record struct SamplerDraw(Response Response, bool Failed, long OracleCalls);

/// <summary>
/// EnvelopeSampler — rejection sampling of π_ref·exp(f/β) from π_ref with an envelope read off a pilot sample
/// (our design; it replaces SoftmaxSampler's estimated normalizer, whose law could not be computed):
/// <list type="number">
/// <item>pilot: draw m samples y'_j ~ π_ref; log τ = max_j f(y'_j)/β;</item>
/// <item>for i = 1..N: draw y_i ~ π_ref, accept with probability min(1, exp(f(y_i)/β − log τ)); return the first accepted;</item>
/// <item>if none is accepted, return y_N (a sampler failure).</item>
/// </list>
/// When the pilot contains a response of the largest score, τ bounds exp(f/β) everywhere and step 2 is exact
/// rejection sampling: the output is π_ref·exp(f/β)/Z exactly (up to the failure branch). When it misses one, the
/// output is the target capped at ratio τ/Z. Because τ depends on the pilot only through its maximum, whose law
/// is P(max ≤ t) = P_ref(f/β ≤ t)^m, the law of what this sampler returns is computable exactly
/// (<see cref="EnvelopeLaw"/>) — which is what the headline suboptimality scores.
/// <para>Parameters from one coverage figure M (the largest ratio π̄/π_ref the sampler should reproduce):
/// m = ⌈M·ln(1/η)⌉ makes a response of π_ref-mass 1/M appear in the pilot with probability ≥ 1 − η;
/// N = ⌈4·M·ln(4/δ)⌉ proposals fail with probability ≤ (1 − 1/M)^N ≤ (δ/4)⁴ once the envelope is found.
/// Cost ≈ m + τ/Z calls per draw.</para>
/// <para>One loop (<see cref="Draw{TItem, TProposals}"/>) serves both levels: responses of a prompt
/// (<see cref="Sample{TScore}"/>, every sample an oracle call charged to T_comp) and next tokens after a prefix
/// (<see cref="TruncatedTokenPolicy"/>, every draw a token call), so the two levels' samplers are the one whose law
/// <see cref="EnvelopeLaw"/> computes.</para>
/// </summary>
public sealed class EnvelopeSampler
{
    /// <summary>Creates a sampler with pilot size m and at most N proposals.</summary>
    public EnvelopeSampler(double beta, long pilotSamples, long maxProposals)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), "beta must be positive and finite");
        if (pilotSamples < 1) throw new ArgumentOutOfRangeException(nameof(pilotSamples), "m must be ≥ 1");
        if (maxProposals < 1) throw new ArgumentOutOfRangeException(nameof(maxProposals), "N must be ≥ 1");
        Beta = beta;
        PilotSamples = pilotSamples;
        MaxProposals = maxProposals;
        _inverseBeta = 1 / beta;
    }

    /// <summary>1/β: the loop weighs a draw by g = f·(1/β), as the token level's exact law does.</summary>
    private readonly double _inverseBeta;

    /// <summary>The sampler for coverage M, pilot miss probability η and failure probability δ (see the class remarks).</summary>
    public static EnvelopeSampler ForCoverage(double beta, double coverage, double missProbability, double delta)
    {
        if (!(coverage >= 1) || double.IsInfinity(coverage)) throw new ArgumentOutOfRangeException(nameof(coverage), "M must be ≥ 1 and finite");
        if (!(missProbability > 0 && missProbability < 1)) throw new ArgumentOutOfRangeException(nameof(missProbability), "η must lie in (0,1)");
        if (!(delta > 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), "δ must lie in (0,1)");
        double m = Math.Ceiling(coverage * Math.Log(1 / missProbability));
        double n = Math.Ceiling(4 * coverage * Math.Log(4 / delta));
        return new EnvelopeSampler(beta, (long)Math.Clamp(m, 1, MaxCalls), (long)Math.Clamp(n, 1, MaxCalls));
    }

    /// <summary>Largest pilot size or proposal count (≈ 10¹² calls — far beyond any run that finishes).</summary>
    public const double MaxCalls = 1e12;

    /// <summary>β.</summary>
    public double Beta { get; }
    /// <summary>m: pilot samples that set the envelope.</summary>
    public long PilotSamples { get; }
    /// <summary>N: proposals before a failure.</summary>
    public long MaxProposals { get; }

    /// <summary>Draws one response for prompt x, charging every sample to <paramref name="environment"/>'s meter.</summary>
    public SamplerDraw Sample<TScore>(Prompt prompt, ILearnerEnvironment environment, in TScore score, Rng rng)
        where TScore : IResponseScore
    {
        var proposals = new ResponseProposals<TScore>(environment, prompt, score);
        var draw = Draw<Response, ResponseProposals<TScore>>(ref proposals, rng, estimateNormalizer: false);
        return new SamplerDraw(draw.Item, draw.Failed, draw.Calls);
    }

    /// <summary>
    /// The sampler's loop, at either level: m pilot draws set log τ = max_j g(y'_j) with g = f·(1/β); then up to N
    /// proposals, each accepted with probability min(1, exp(g − log τ)) (compared in log space); the first accepted is
    /// returned, or the N-th if none is. With <paramref name="estimateNormalizer"/> it also returns the pilot's
    /// log((1/m)·Σ_j e^{g(y'_j)}), an estimate of log Z from draws already paid for (one exp per pilot draw; NaN otherwise).
    /// </summary>
    internal EnvelopeDraw<TItem> Draw<TItem, TProposals>(ref TProposals proposals, Rng rng, bool estimateNormalizer)
        where TProposals : struct, IEnvelopeProposals<TItem>
    {
        double inverseBeta = _inverseBeta;
        double logTau = double.NegativeInfinity;
        var pilot = new LogMath.Accumulator();
        for (long j = 0; j < PilotSamples; j++)
        {
            double g = proposals.Score(proposals.Draw(rng)) * inverseBeta;
            logTau = Math.Max(logTau, g);
            if (estimateNormalizer) pilot.Add(g);
        }
        double logPilotMean = estimateNormalizer ? pilot.Value - Math.Log(PilotSamples) : double.NaN;
        long calls = PilotSamples;
        TItem last = default!;
        double lastG = 0;
        for (long i = 0; i < MaxProposals; i++)
        {
            last = proposals.Draw(rng);
            calls++;
            lastG = proposals.Score(last) * inverseBeta;
            if (Math.Log(rng.NextDoubleOpenZero()) <= lastG - logTau)
                return new EnvelopeDraw<TItem>(last, false, calls, logTau, lastG, logPilotMean);
        }
        return new EnvelopeDraw<TItem>(last, true, calls, logTau, lastG, logPilotMean);
    }

    /// <summary>The sequence level's proposals: y ~ π_ref(·|x) from the learner's environment, scored by f. Not readonly,
    /// so calling the score (a struct of unknown type) takes no defensive copy per draw.</summary>
    private struct ResponseProposals<TScore>(ILearnerEnvironment environment, Prompt prompt, TScore score)
        : IEnvelopeProposals<Response> where TScore : IResponseScore
    {
        public Response Draw(Rng rng) => environment.Sample(prompt, rng);
        public double Score(Response response) => score.Score(response);
    }
}

/// <summary>What an <see cref="EnvelopeSampler"/> draws from at one level — y ~ π_ref, a response of a prompt or the
/// next token after a prefix, one oracle call each — and the score f of a draw.</summary>
internal interface IEnvelopeProposals<TItem>
{
    /// <summary>One draw from π_ref (one oracle call).</summary>
    TItem Draw(Rng rng);

    /// <summary>f of a draw.</summary>
    double Score(TItem item);
}

/// <summary>What one run of <see cref="EnvelopeSampler.Draw{TItem, TProposals}"/> produced.</summary>
/// <param name="Item">The first accepted proposal, or the N-th one when none was accepted.</param>
/// <param name="Failed">True if no proposal was accepted.</param>
/// <param name="Calls">Oracle calls: the m pilot draws and the proposals.</param>
/// <param name="LogTau">log τ = max_j g(y'_j) over the pilot, g = f·(1/β).</param>
/// <param name="LogWeight">g of the returned draw.</param>
/// <param name="LogPilotMean">log((1/m)·Σ_j e^{g(y'_j)}) when asked for, NaN otherwise.</param>
internal readonly record struct EnvelopeDraw<TItem>(TItem Item, bool Failed, long Calls, double LogTau, double LogWeight, double LogPilotMean);

/// <summary>
/// Sampling-importance-resampling: draw N proposals from π_ref and return one with probability ∝ exp(f/β).
/// Biased for finite N (the target is reached as N → ∞); costs exactly N oracle calls.
/// </summary>
public sealed class SirSampler
{
    private readonly double[] _logWeights;
    private readonly Response[] _candidates;

    /// <summary>Creates a sampler drawing <paramref name="proposals"/> candidates per call.</summary>
    public SirSampler(double beta, int proposals)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), "beta must be positive and finite");
        if (proposals <= 0) throw new ArgumentOutOfRangeException(nameof(proposals), "N must be ≥ 1");
        Beta = beta;
        Proposals = proposals;
        _logWeights = new double[proposals];
        _candidates = new Response[proposals];
    }

    /// <summary>β.</summary>
    public double Beta { get; }
    /// <summary>N.</summary>
    public int Proposals { get; }

    /// <summary>Draws one response for prompt x. Not thread-safe (reuses its buffers).</summary>
    public SamplerDraw Sample<TScore>(Prompt prompt, ILearnerEnvironment environment, in TScore score, Rng rng)
        where TScore : IResponseScore
    {
        for (int i = 0; i < Proposals; i++)
        {
            _candidates[i] = environment.Sample(prompt, rng);
            _logWeights[i] = score.Score(_candidates[i]) / Beta;
        }
        double lse = LogMath.LogSumExp(_logWeights);
        double u = rng.NextDouble();
        double cumulative = 0;
        for (int i = 0; i < Proposals; i++)
        {
            cumulative += Math.Exp(_logWeights[i] - lse);
            if (u < cumulative) return new SamplerDraw(_candidates[i], false, Proposals);
        }
        return new SamplerDraw(_candidates[^1], false, Proposals);
    }
}

/// <summary>
/// Exact sampler by enumeration: computes π_ref·exp(f/β) over all of Y(x) and draws from it. Not
/// oracle-efficient: every call enumerates Y(x), which charges |Y(x)| sampling-oracle calls.
/// </summary>
public static class ExactSampler
{
    /// <summary>Draws one response exactly, charging |Y(x)| to T_comp.</summary>
    public static SamplerDraw Sample<TScore>(Prompt prompt, ILearnerEnvironment environment, in TScore score, Rng rng)
        where TScore : IResponseScore
    {
        var all = environment.Enumerate(prompt);
        var logits = new double[all.Length];
        for (int y = 0; y < all.Length; y++) logits[y] = all[y].LogRefProb + score.Score(all[y]) / environment.Beta;
        double lse = LogMath.LogSumExp(logits);
        double u = rng.NextDouble();
        double cumulative = 0;
        for (int y = 0; y < all.Length; y++)
        {
            cumulative += Math.Exp(logits[y] - lse);
            if (u < cumulative) return new SamplerDraw(all[y], false, all.Length);
        }
        return new SamplerDraw(all[^1], false, all.Length);
    }
}
