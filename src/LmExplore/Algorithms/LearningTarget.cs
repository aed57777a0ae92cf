
namespace LmExplore.Algorithms;

/// <summary>
/// What every algorithm is asked to achieve, and what it may assume: accuracy ε, failure probability δ
/// and the reward scale R_max (not known to the learner unless given; default 1). Read from the
/// algo-params <c>epsilon</c>, <c>delta</c>, <c>rmax</c>.
/// </summary>
/// <param name="Epsilon">Target suboptimality ε &gt; 0 (default 0.01).</param>
/// <param name="Delta">Failure probability δ ∈ (0,1) (default 0.1).</param>
/// <param name="RMax">Assumed bound R_max on |r*| (default 1).</param>
public sealed record LearningTarget(double Epsilon, double Delta, double RMax)
{
    /// <summary>Default ε.</summary>
    public const double DefaultEpsilon = 0.01;
    /// <summary>Default δ.</summary>
    public const double DefaultDelta = 0.1;
    /// <summary>Default R_max.</summary>
    public const double DefaultRMax = 1.0;

    /// <summary>
    /// Calibrated constant c in the exploration/sample-size rule n = ⌈c · d · R_max² / (β · min(ε, β))⌉
    /// (the shape of the paper's T_data = Õ(d²R²/(β·min(ε,β))) with one factor d left to the spanner).
    /// With sub-Gaussian reward noise of scale σ, least squares on n informative pairs has a
    /// suboptimality ≈ σ²·d/(β·n); c = 1/50 corresponds to σ ≈ 0.1·R_max with a safety factor of ~2.
    /// One constant for every instance — see docs/ALGORITHMS.md.
    /// </summary>
    public const double SampleSizeConstant = 1.0 / 50;

    /// <summary>Reads ε, δ, R_max from the parameters.</summary>
    public static LearningTarget Read(OptionReader p) => new(
        p.Real("epsilon", DefaultEpsilon, 0, double.PositiveInfinity, minExclusive: true, maxExclusive: true),
        p.Real("delta", DefaultDelta, 0, 1, minExclusive: true, maxExclusive: true),
        p.Real("rmax", DefaultRMax, 0, 1e6, minExclusive: true));

    /// <summary>The default pilot miss probability η = ε/(2·R_max) of every output and exploration sampler
    /// (<see cref="Policies.EnvelopeSampler.ForCoverage"/>): a missed rare response costs at most ≈ 2·R_max, so the
    /// expected loss from a miss stays ≤ ε. Clamped to [10⁻⁹, 0.5].</summary>
    public double DefaultPilotMiss => Math.Clamp(Epsilon / (2 * RMax), 1e-9, 0.5);

    /// <summary>n = ⌈c·d·R_max²/(β·min(ε,β))⌉, at least 2d: the number of informative pairs that least squares
    /// needs for suboptimality ε (see <see cref="SampleSizeConstant"/>).</summary>
    public long InformativePairs(int d, double beta)
    {
        double n = SampleSizeConstant * d * RMax * RMax / (beta * Math.Min(Epsilon, beta));
        return (long)Math.Clamp(Math.Ceiling(n), 2.0 * d, 1e9);
    }
}
