namespace LmExplore.Instances;

/// <summary>Kinds of reward noise (docs/FRAMEWORK.md).</summary>
public enum NoiseKind
{
    /// <summary>query(x,y) = r*(x,y).</summary>
    None,
    /// <summary>query(x,y) = r*(x,y) + N(0, σ²).</summary>
    Gaussian,
    /// <summary>Rewards in [0,1]; query returns a 0/1 draw with mean r*(x,y).</summary>
    Bernoulli,
}

/// <summary>A reward-noise model.</summary>
/// <param name="Kind">The kind of noise.</param>
/// <param name="Sigma">Standard deviation for <see cref="NoiseKind.Gaussian"/>; 0 otherwise.</param>
public sealed record NoiseModel(NoiseKind Kind, double Sigma = 0)
{
    /// <summary>No noise.</summary>
    public static NoiseModel None { get; } = new(NoiseKind.None);

    /// <summary>Gaussian noise with standard deviation σ ≥ 0.</summary>
    public static NoiseModel Gaussian(double sigma) => new(NoiseKind.Gaussian, sigma);

    /// <summary>Bernoulli rewards.</summary>
    public static NoiseModel Bernoulli { get; } = new(NoiseKind.Bernoulli);

    /// <summary>Lower-case name used in JSON and results ("none", "gaussian", "bernoulli").</summary>
    public string Name => Kind.ToString().ToLowerInvariant();
}
