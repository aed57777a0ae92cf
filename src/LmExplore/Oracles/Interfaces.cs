using LmExplore.Numerics;

namespace LmExplore.Oracles;

/// <summary>Draws prompts x ~ ρ. Sampling oracles may only be asked about prompts received this way.</summary>
public interface IPromptSource
{
    /// <summary>Draws a prompt index.</summary>
    int DrawPrompt(Rng rng);
}

/// <summary>
/// Sequence-level sampling oracle: <c>sample(x)</c> returns y ~ π_ref(·|x); each call charges one to T_comp.
/// </summary>
/// <typeparam name="TResponse">How a response is represented (an index for enumerable instances,
/// a token sequence for autoregressive ones).</typeparam>
public interface ISamplingOracle<TResponse>
{
    /// <summary>Draws y ~ π_ref(·|x) (one T_comp).</summary>
    TResponse Sample(int prompt, Rng rng);

    /// <summary>log π_ref(y|x) of a response (returned with the sample by real LMs; no charge).</summary>
    double LogProb(int prompt, TResponse response);
}

/// <summary>
/// Token-level sampling oracle for autoregressive models: <c>next(x, a_{1:h-1})</c> returns
/// a_h ~ π_ref,h(·|x, a_{1:h-1}); each call charges one to T_tokens.
/// </summary>
public interface ITokenSamplingOracle
{
    /// <summary>Vocabulary size |A|.</summary>
    int VocabSize { get; }
    /// <summary>Horizon H (tokens per response).</summary>
    int Horizon { get; }

    /// <summary>Draws the next token given a prefix (one T_tokens).</summary>
    int NextToken(int prompt, ReadOnlySpan<int> prefix, Rng rng);

    /// <summary>Writes log π_ref,h(a|x, prefix) for every token a into <paramref name="destination"/>
    /// — one forward pass of an LM, charged as one token query.</summary>
    void NextTokenLogProbs(int prompt, ReadOnlySpan<int> prefix, Span<double> destination);
}

/// <summary>Reward oracle: <c>query(x,y)</c> returns r*(x,y) + ξ; each call charges one to T_data.</summary>
public interface IRewardOracle<TResponse>
{
    /// <summary>A noisy reward (one T_data).</summary>
    double Query(int prompt, TResponse response);
}

/// <summary>Feature map φ(x,y) ∈ R^d, computable by the learner at no oracle cost.</summary>
public interface IFeatureMap<TResponse>
{
    /// <summary>d.</summary>
    int Dimension { get; }

    /// <summary>Writes φ(x,y) into <paramref name="destination"/> (length ≥ d).</summary>
    void Features(int prompt, TResponse response, Span<double> destination);
}
