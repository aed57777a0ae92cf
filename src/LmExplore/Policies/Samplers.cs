using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Policies;

/// <summary>A score f(y) on the responses of one prompt. Implemented by structs so sampler loops inline it.</summary>
public interface IResponseScore<TResponse>
{
    /// <summary>f(y).</summary>
    double Score(TResponse response);
}

/// <summary>What one sampler call produced.</summary>
/// <param name="Response">The returned response.</param>
/// <param name="Failed">True if no proposal was accepted and the last proposal was returned (SoftmaxSampler step 3).</param>
/// <param name="OracleCalls">Sampling-oracle calls this draw cost (normalizer samples included).</param>
public readonly record struct SamplerDraw<TResponse>(TResponse Response, bool Failed, long OracleCalls);

/// <summary>
/// SoftmaxSampler (SPEC §2): rejection sampling of π_ref·exp(f/β) from π_ref with coverage guess M.
/// <list type="number">
/// <item>log Ẑ = logsumexp_j f(y'_j)/β − log m over m fresh samples y'_j ~ π_ref;</item>
/// <item>for i = 1..N, N = ⌈4·M·ln(4/δ)⌉: draw y_i ~ π_ref, accept with probability min(1, exp(f(y_i)/β − log Ẑ)/M);</item>
/// <item>if nothing is accepted, return y_N and report a failure.</item>
/// </list>
/// Every sample — the m normalizer samples included — is an oracle call charged to T_comp.
/// </summary>
public sealed class SoftmaxSampler
{
    /// <summary>Creates a sampler. <paramref name="normalizerSamples"/> m defaults to ⌈M⌉.</summary>
    public SoftmaxSampler(double beta, double coverageGuess, double delta, int? normalizerSamples = null)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), "beta must be positive and finite");
        if (!(coverageGuess >= 1) || double.IsInfinity(coverageGuess)) throw new ArgumentOutOfRangeException(nameof(coverageGuess), "M must be ≥ 1 and finite");
        if (!(delta > 0 && delta < 1)) throw new ArgumentOutOfRangeException(nameof(delta), "delta must lie in (0,1)");
        Beta = beta;
        CoverageGuess = coverageGuess;
        Delta = delta;
        NormalizerSamples = normalizerSamples ?? (int)Math.Min(int.MaxValue, Math.Ceiling(coverageGuess));
        if (NormalizerSamples <= 0) throw new ArgumentOutOfRangeException(nameof(normalizerSamples), "m must be ≥ 1");
        MaxProposals = (long)Math.Ceiling(4 * coverageGuess * Math.Log(4 / delta));
    }

    /// <summary>β.</summary>
    public double Beta { get; }
    /// <summary>M.</summary>
    public double CoverageGuess { get; }
    /// <summary>δ.</summary>
    public double Delta { get; }
    /// <summary>m: samples spent estimating log Ẑ.</summary>
    public int NormalizerSamples { get; }
    /// <summary>N = ⌈4·M·ln(4/δ)⌉.</summary>
    public long MaxProposals { get; }

    /// <summary>Draws one response for prompt x.</summary>
    public SamplerDraw<TResponse> Sample<TResponse, TScore>(int prompt, ISamplingOracle<TResponse> oracle, in TScore score, Rng rng)
        where TScore : IResponseScore<TResponse>
    {
        var logZ = new LogMath.Accumulator();
        for (int j = 0; j < NormalizerSamples; j++) logZ.Add(score.Score(oracle.Sample(prompt, rng)) / Beta);
        double logZHat = logZ.Value - Math.Log(NormalizerSamples);
        double logThreshold = logZHat + Math.Log(CoverageGuess);
        long calls = NormalizerSamples;
        TResponse last = default!;
        for (long i = 0; i < MaxProposals; i++)
        {
            last = oracle.Sample(prompt, rng);
            calls++;
            // Accept with probability min(1, exp(f/β − log Ẑ − log M)), compared in log space.
            if (Math.Log(rng.NextDoubleOpenZero()) <= score.Score(last) / Beta - logThreshold)
                return new SamplerDraw<TResponse>(last, false, calls);
        }
        return new SamplerDraw<TResponse>(last, true, calls);
    }
}

/// <summary>
/// Sampling-importance-resampling: draw N proposals from π_ref and return one with probability ∝ exp(f/β).
/// Biased for finite N (the target is reached as N → ∞); costs exactly N oracle calls.
/// </summary>
public sealed class SirSampler
{
    private readonly double[] _logWeights;
    private object? _candidates; // TResponse[] of length N, reused across calls (allocated on first use per TResponse)

    /// <summary>Creates a sampler drawing <paramref name="proposals"/> candidates per call.</summary>
    public SirSampler(double beta, int proposals)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), "beta must be positive and finite");
        if (proposals <= 0) throw new ArgumentOutOfRangeException(nameof(proposals), "N must be ≥ 1");
        Beta = beta;
        Proposals = proposals;
        _logWeights = new double[proposals];
    }

    /// <summary>β.</summary>
    public double Beta { get; }
    /// <summary>N.</summary>
    public int Proposals { get; }

    /// <summary>Draws one response for prompt x. Not thread-safe (reuses a weight buffer).</summary>
    public SamplerDraw<TResponse> Sample<TResponse, TScore>(int prompt, ISamplingOracle<TResponse> oracle, in TScore score, Rng rng)
        where TScore : IResponseScore<TResponse>
    {
        var candidates = _candidates as TResponse[] ?? (TResponse[])(_candidates = new TResponse[Proposals]);
        for (int i = 0; i < Proposals; i++)
        {
            candidates[i] = oracle.Sample(prompt, rng);
            _logWeights[i] = score.Score(candidates[i]) / Beta;
        }
        double lse = LogMath.LogSumExp(_logWeights);
        double u = rng.NextDouble();
        double cumulative = 0;
        for (int i = 0; i < Proposals; i++)
        {
            cumulative += Math.Exp(_logWeights[i] - lse);
            if (u < cumulative) return new SamplerDraw<TResponse>(candidates[i], false, Proposals);
        }
        return new SamplerDraw<TResponse>(candidates[^1], false, Proposals);
    }
}

/// <summary>
/// Exact sampler by enumeration: computes π_ref·exp(f/β) over all of Y(x) and draws from it. Not
/// oracle-efficient: every call charges |Y(x)| sampling-oracle calls, as enumerating Y requires.
/// </summary>
public static class ExactSampler
{
    /// <summary>Draws one response exactly, charging |Y(x)| to T_comp.</summary>
    public static SamplerDraw<int> Sample<TScore>(int prompt, EnumerableEnvironment environment, in TScore score, Rng rng)
        where TScore : IResponseScore<int>
    {
        environment.ChargeEnumeration(prompt);
        int n = environment.ResponseCount(prompt);
        var logits = new double[n];
        for (int y = 0; y < n; y++) logits[y] = environment.LogProb(prompt, y) + score.Score(y) / environment.Beta;
        double lse = LogMath.LogSumExp(logits);
        double u = rng.NextDouble();
        double cumulative = 0;
        for (int y = 0; y < n; y++)
        {
            cumulative += Math.Exp(logits[y] - lse);
            if (u < cumulative) return new SamplerDraw<int>(y, false, n);
        }
        return new SamplerDraw<int>(n - 1, false, n);
    }
}
