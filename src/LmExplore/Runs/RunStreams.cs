namespace LmExplore.Runs;

/// <summary>
/// The keys of the child random streams of a run (<see cref="Numerics.Rng.Split(string)"/>): every stream of a run is split
/// off its seed by a fixed key, so one seed fixes the whole run and a new stream never shifts an old one.
/// </summary>
public static class RunStreams
{
    /// <summary>The reward noise of the learner's environment.</summary>
    public const string Noise = "reward-noise";
    /// <summary>The algorithm's own randomness.</summary>
    public const string Algorithm = "algorithm";
    /// <summary>Monte Carlo evaluation of the output (prompts, output draws, π_ref draws).</summary>
    public const string Evaluation = "evaluation";
    /// <summary>Draws from the output written by <c>--output-samples</c>.</summary>
    public const string OutputSamples = "output-samples";
}
