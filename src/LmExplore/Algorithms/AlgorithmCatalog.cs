using LmExplore.Runs;

namespace LmExplore.Algorithms;

/// <summary>Resolves an algorithm name (as on the command line) to a configured algorithm.</summary>
public static class AlgorithmCatalog
{
    /// <summary>Implemented algorithms.</summary>
    public static IReadOnlyList<string> Implemented { get; } = [SpannerSampling.AlgorithmName, Passive.AlgorithmName, OnlineDpo.AlgorithmName, Xpo.AlgorithmName, OptimalDesign.AlgorithmName, Mtss.AlgorithmName];

    /// <summary>Names reserved by docs/CLI.md for algorithms that are not implemented yet.</summary>
    public static IReadOnlyList<string> Reserved { get; } = [];

    /// <summary>Creates the algorithm, validating its parameters. Throws <see cref="InputException"/> on an unknown
    /// or reserved name, an unknown parameter or a bad value.</summary>
    public static IAlgorithm Create(string name, IReadOnlyDictionary<string, string>? algoParams)
    {
        string key = name.Trim().ToLowerInvariant();
        return key switch
        {
            SpannerSampling.AlgorithmName => new SpannerSampling(algoParams),
            Passive.AlgorithmName => new Passive(algoParams),
            OnlineDpo.AlgorithmName => new OnlineDpo(algoParams),
            Xpo.AlgorithmName => new Xpo(algoParams),
            OptimalDesign.AlgorithmName => new OptimalDesign(algoParams),
            Mtss.AlgorithmName => throw new InputException($"algorithm '{key}' is token-level: it runs on autoregressive instances (the chain family or lmexplore.autoregressive/v1 files)"),
            _ when Reserved.Contains(key) => throw new InputException($"algorithm '{key}' is not implemented yet (implemented: {string.Join(", ", Implemented)})"),
            _ => throw new InputException($"unknown algorithm '{name}' (known: {string.Join(", ", Implemented)})"),
        };
    }

    /// <summary>Whether <paramref name="name"/> is a token-level algorithm (runs on the token oracle of an autoregressive instance).</summary>
    public static bool IsTokenLevel(string name) => name.Trim().ToLowerInvariant() == Mtss.AlgorithmName;

    /// <summary>Creates a token-level algorithm, validating its parameters (<see cref="InputException"/> on bad input).</summary>
    public static ITokenAlgorithm CreateTokenLevel(string name, IReadOnlyDictionary<string, string>? algoParams) =>
        name.Trim().ToLowerInvariant() switch
        {
            Mtss.AlgorithmName => new Mtss(algoParams),
            _ => throw new InputException($"'{name}' is not a token-level algorithm (token-level: {Mtss.AlgorithmName})"),
        };
}
