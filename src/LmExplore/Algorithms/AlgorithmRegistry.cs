
namespace LmExplore.Algorithms;

/// <summary>Which oracle an algorithm learns through.</summary>
public enum AlgorithmLevel
{
    /// <summary>Whole responses through the sampling oracle (T_comp): <see cref="IAlgorithm"/>.</summary>
    Sequence,
    /// <summary>Tokens through the token oracle (T_tokens): <see cref="ITokenAlgorithm"/>.</summary>
    Token,
}

/// <summary>
/// One algorithm as the run pipeline knows it: its command-line name, the level it runs on, a one-line summary, and a
/// factory that validates the options (<c>--algo-param k=v</c>; unknown keys and bad values are a one-line
/// <see cref="InputException"/>, defaults are documented in docs/ALGORITHMS.md) and returns the configured algorithm.
/// </summary>
/// <param name="Name">Command-line name.</param>
/// <param name="Level">The oracle it learns through.</param>
/// <param name="Summary">One line for help texts.</param>
/// <param name="Create">Binds the options and returns an <see cref="IAlgorithm"/> (sequence level) or an
/// <see cref="ITokenAlgorithm"/> (token level).</param>
public sealed record AlgorithmInfo(string Name, AlgorithmLevel Level, string Summary, Func<IReadOnlyDictionary<string, string>?, object> Create)
{
    /// <summary>A sequence-level algorithm.</summary>
    public static AlgorithmInfo Sequence(string name, string summary, Func<IReadOnlyDictionary<string, string>?, IAlgorithm> create) =>
        new(name, AlgorithmLevel.Sequence, summary, create);

    /// <summary>A token-level algorithm.</summary>
    public static AlgorithmInfo Token(string name, string summary, Func<IReadOnlyDictionary<string, string>?, ITokenAlgorithm> create) =>
        new(name, AlgorithmLevel.Token, summary, create);
}

/// <summary>
/// The algorithms every command can run, by name. Adding one is one entry here (or one <see cref="Register"/> call, as
/// the tests do for a test-only algorithm); the pipeline finds the level it runs on from the entry.
/// </summary>
public static class AlgorithmRegistry
{
    private static readonly Lock Gate = new();
    private static readonly List<AlgorithmInfo> Entries =
    [
        AlgorithmInfo.Sequence(SpannerSampling.AlgorithmName, "SpannerSampling: inference-time exploration with a spanner of the features (the paper's algorithm)", p => new SpannerSampling(p)),
        AlgorithmInfo.Sequence(Passive.AlgorithmName, "rewards π_ref samples only, least squares, the softmax sampler", p => new Passive(p)),
        AlgorithmInfo.Sequence(OnlineDpo.AlgorithmName, "online DPO: a proper policy learned from its own samples", p => new OnlineDpo(p)),
        AlgorithmInfo.Sequence(Xpo.AlgorithmName, "XPO: online DPO with an optimism bonus", p => new Xpo(p)),
        AlgorithmInfo.Sequence(OptimalDesign.AlgorithmName, "optimal design over enumerated responses (|Y| charged to T_comp)", p => new OptimalDesign(p)),
        AlgorithmInfo.Token(Mtss.AlgorithmName, "MTSS: multi-turn SpannerSampling through the token oracle", p => new Mtss(p)),
        AlgorithmInfo.Sequence(BestOfN.AlgorithmName, "best-of-N with the verifier, per prompt of a task's list", p => new BestOfN(p)),
    ];

    /// <summary>The names, in the order help texts list them.</summary>
    public static IReadOnlyList<string> Names
    {
        get { lock (Gate) return Entries.Select(e => e.Name).ToArray(); }
    }

    /// <summary>The entry named <paramref name="name"/> (case-insensitive), or a one-line <see cref="InputException"/> listing the known ones.</summary>
    public static AlgorithmInfo Find(string name)
    {
        string key = name.Trim().ToLowerInvariant();
        lock (Gate)
            return Entries.FirstOrDefault(e => e.Name == key)
                ?? throw new InputException($"unknown algorithm '{name}' (known: {string.Join(", ", Entries.Select(e => e.Name))})");
    }

    /// <summary>Whether <paramref name="name"/> names a token-level algorithm (false for unknown names).</summary>
    public static bool IsTokenLevel(string name)
    {
        string key = name.Trim().ToLowerInvariant();
        lock (Gate) return Entries.Any(e => e.Name == key && e.Level == AlgorithmLevel.Token);
    }

    /// <summary>Creates a sequence-level algorithm, validating its options.</summary>
    public static IAlgorithm Create(string name, IReadOnlyDictionary<string, string>? options)
    {
        var info = Find(name);
        return info.Level == AlgorithmLevel.Sequence ? (IAlgorithm)info.Create(options)
            : throw new InputException($"algorithm '{info.Name}' is token-level: it runs on autoregressive instances (the chain family or lmexplore.autoregressive/v1 files)");
    }

    /// <summary>Adds an algorithm (idempotent for the same name and level; a different entry under a taken name is refused).</summary>
    public static void Register(AlgorithmInfo info)
    {
        lock (Gate)
        {
            var existing = Entries.FirstOrDefault(e => e.Name == info.Name);
            if (existing is null) Entries.Add(info);
            else if (existing.Level != info.Level) throw new InvalidOperationException($"algorithm '{info.Name}' is already registered at another level");
        }
    }
}
