using LmExplore.Numerics;

namespace LmExplore.Instances;

/// <summary>
/// The <c>linear</c> family (docs/FORMATS.md): a random linear softmax instance. |X| prompts with uniform weights,
/// N responses each, π_ref Zipf-like (p_k ∝ 1/k^zipf — the heavy tail of a language model — assigned to
/// responses in random order), features uniform on the unit sphere in R^d, θ* uniform on the sphere of
/// radius B. Rewards therefore lie in [−B, B].
/// </summary>
public static class LinearFamily
{
    /// <summary>Upper limit on prompts × responses × d (2 GB of features), so a typo cannot exhaust memory.</summary>
    public const double MaxTotalFeatures = 2.5e8;

    /// <summary>Parameter names, in the order used in the instance name.</summary>
    public static IReadOnlyList<string> Known { get; } = ["prompts", "responses", "d", "zipf", "B", "beta", "noise", "sigma", "seed"];

    /// <summary>Generates the instance from (parameters, seed); <c>seed=</c> in the parameters overrides <paramref name="seed"/>.</summary>
    public static EnumerableInstance Create(IReadOnlyDictionary<string, string> parameters, ulong seed)
    {
        var p = FamilyParameters.Open("linear", parameters, Known);
        int promptCount = p.Integer("prompts", 4, 1, 1_000_000);
        int n = p.Integer("responses", 200, 1, int.MaxValue);
        int d = p.Integer("d", 8, 1, 100_000);
        double zipf = p.Real("zipf", 1.1, 0, 100);
        double b = p.Real("B", 1.0, 0, InstanceLimits.MaxMagnitude);
        double beta = p.Beta(0.1);
        var noise = p.Noise();
        seed = p.Seed("seed", seed);
        if ((long)n * d > Array.MaxLength)
            throw new InputException($"linear: responses × d = {(long)n * d} features per prompt is too large (max {Array.MaxLength})");
        if ((double)promptCount * n * d > MaxTotalFeatures)
            throw new InputException($"linear: prompts × responses × d = {(double)promptCount * n * d:G3} numbers is too large (max {MaxTotalFeatures:G3}, about 2 GB)");
        // Unit features: Σ|θ_i φ_i| ≤ ‖θ*‖‖φ‖ = B, so B/β bounds every reward scale.
        if (!(b / beta <= InstanceLimits.MaxRewardOverBeta))
            throw new InputException($"linear: B/beta = {FamilyParameters.Fmt(b / beta)} exceeds {FamilyParameters.Fmt(InstanceLimits.MaxRewardOverBeta)} (B={FamilyParameters.Fmt(b)}, beta={FamilyParameters.Fmt(beta)}): r/beta this large leaves no precision for log pi_ref");
        if (noise.Kind == NoiseKind.Bernoulli && b > 0)
            throw new InputException($"linear: noise=bernoulli needs rewards in [0,1], but linear rewards span [−B, B] with B={FamilyParameters.Fmt(b)}");

        var logRank = new double[n];
        for (int k = 0; k < n; k++) logRank[k] = -zipf * Math.Log(k + 1);
        double logH = LogMath.LogSumExp(logRank);

        var root = new Rng(seed).Split("linear");
        var theta = new double[d];
        RandomOnSphere(theta, b, root.Split("theta"));

        var prompts = new EnumerablePrompt[promptCount];
        for (int x = 0; x < promptCount; x++)
        {
            var rng = root.Split("prompt").Split((ulong)x);
            var ranks = NeedleFamily.RandomPermutation(n, rng);
            var logProbs = new double[n];
            var features = new double[n * d];
            for (int y = 0; y < n; y++)
            {
                logProbs[y] = logRank[ranks[y]] - logH;
                RandomOnSphere(features.AsSpan(y * d, d), 1.0, rng);
            }
            prompts[x] = new EnumerablePrompt(1.0 / promptCount, logProbs, features, d, theta);
        }

        string noisePart = noise.Kind == NoiseKind.Gaussian ? $"noise=gaussian,sigma={FamilyParameters.Fmt(noise.Sigma)}" : $"noise={noise.Name}";
        string name = $"linear(prompts={promptCount},responses={n},d={d},zipf={FamilyParameters.Fmt(zipf)},B={FamilyParameters.Fmt(b)}," +
                      $"beta={FamilyParameters.Fmt(beta)},{noisePart},seed={seed})";
        return new EnumerableInstance(name, beta, theta, noise, prompts);
    }

    /// <summary>A uniformly random point on the sphere of the given radius (normalized Gaussian); with
    /// <paramref name="excludedAxis"/> ≥ 0, on the sphere of the coordinates other than that axis.</summary>
    internal static void RandomOnSphere(Span<double> v, double radius, Rng rng, int excludedAxis = -1)
    {
        double ss;
        do
        {
            ss = 0;
            for (int j = 0; j < v.Length; j++)
            {
                if (j == excludedAxis) { v[j] = 0; continue; }   // no draw: the stream of the other coordinates is unchanged
                double g = rng.NextGaussian();
                v[j] = g;
                ss += g * g;
            }
        } while (ss < 1e-300);
        double scale = radius / Math.Sqrt(ss);
        for (int j = 0; j < v.Length; j++) v[j] *= scale;
    }
}
