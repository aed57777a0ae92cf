namespace LmExplore.Experiments;

/// <summary>Runs one <see cref="RunRequest"/> end to end: instance, metered environment, algorithm, exact evaluation.</summary>
public static class Runner
{
    /// <summary>Runs the request. Throws <see cref="InputException"/> on bad input; never lets a budget exception escape.</summary>
    public static RunResult Run(RunRequest request, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException("runner: owned by the Algorithms work");
}
