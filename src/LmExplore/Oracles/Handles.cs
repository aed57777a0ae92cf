namespace LmExplore.Oracles;

/// <summary>
/// A prompt x ~ ρ as the prompt source issued it. Only an environment can create one (the constructor is
/// internal), so an algorithm can ask the oracles about a prompt only after receiving it. <c>default(Prompt)</c>
/// and prompts of another environment are refused by every oracle with a clear error.
/// </summary>
public readonly struct Prompt : IEquatable<Prompt>
{
    internal Prompt(int index, int issuer)
    {
        Index = index;
        Issuer = issuer;
    }

    /// <summary>The prompt's index in the instance (what results files call <c>prompt</c>).</summary>
    public int Index { get; }

    /// <summary>The environment that issued it (0 for <c>default</c>, which no environment accepts).</summary>
    internal int Issuer { get; }

    /// <inheritdoc />
    public bool Equals(Prompt other) => Index == other.Index && Issuer == other.Issuer;
    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Prompt p && Equals(p);
    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Index, Issuer);
    /// <inheritdoc />
    public override string ToString() => $"prompt {Index}";
}

/// <summary>
/// A response y ~ π_ref(·|x) as the sampling oracle issued it, with log π_ref(y|x) returned alongside (as a
/// real language model returns it). Features and reward queries are available only through a handle; only an
/// environment can create one (the constructor is internal), so an algorithm sees exactly the responses it
/// paid for — by sampling (one T_comp each) or by enumerating Y(x) (|Y(x)| T_comp).
/// </summary>
public readonly struct Response
{
    internal Response(int prompt, int index, int issuer, double logRefProb)
    {
        PromptIndex = prompt;
        Index = index;
        Issuer = issuer;
        LogRefProb = logRefProb;
    }

    /// <summary>The index of the prompt it answers.</summary>
    public int PromptIndex { get; }

    /// <summary>Which response it is: the response index for enumerable instances, an id in the environment's
    /// table of issued sequences otherwise. Two handles with the same prompt and index are the same response.</summary>
    public int Index { get; }

    /// <summary>log π_ref(y|x), returned with the sample.</summary>
    public double LogRefProb { get; }

    /// <summary>The environment that issued it (0 for <c>default</c>, which no environment accepts).</summary>
    internal int Issuer { get; }

    /// <inheritdoc />
    public override string ToString() => $"response {Index} of prompt {PromptIndex}";
}

/// <summary>Issues the unique, nonzero stamps that tie handles to the environment that issued them.</summary>
internal static class Issuers
{
    private static int _last;

    /// <summary>A stamp no other environment in this process has.</summary>
    public static int Next() => Interlocked.Increment(ref _last);
}
