using LmExplore.Runs;

namespace LmExplore.Algorithms;

/// <summary>
/// The algo-param reader under its earlier name, for callers outside this folder that still construct it; it parses
/// nothing itself — every read is <see cref="OptionReader"/>'s (<see cref="OptionReader.ForAlgorithm"/>), and it
/// converts to one wherever an <see cref="OptionReader"/> is expected. New code uses <see cref="OptionReader"/>.
/// </summary>
public sealed class AlgorithmParameters
{
    /// <summary>Wraps the raw key/value pairs given to <paramref name="algorithm"/>.</summary>
    public AlgorithmParameters(string algorithm, IReadOnlyDictionary<string, string>? values) =>
        Reader = OptionReader.ForAlgorithm(algorithm, values);

    /// <summary>The binder doing the reading.</summary>
    public OptionReader Reader { get; }

    /// <summary>An integer in [min, max], or null if not given (<see cref="OptionReader.IntegerOrNull"/>).</summary>
    public long? Integer(string key, long min, long max) => Reader.IntegerOrNull(key, min, max);

    /// <summary>Throws if a key was given that no read asked for (<see cref="OptionReader.RejectUnknown"/>).</summary>
    public void RejectUnknown() => Reader.RejectUnknown();

    /// <summary>The binder itself, so that readers of shared parameters (<see cref="LearningTarget.Read"/>) take either.</summary>
    public static implicit operator OptionReader(AlgorithmParameters parameters) => parameters.Reader;
}
