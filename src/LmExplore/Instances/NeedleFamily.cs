using LmExplore.Numerics;

namespace LmExplore.Instances;

/// <summary>
/// The <c>needle</c> family (docs/FRAMEWORK.md, claim 1): in every prompt one "needle" response has feature u and
/// reference mass q; every other response has a feature orthogonal to u (norm <c>distractor</c>); θ* = R·u.
/// So r*(needle) = R and every other reward is exactly 0, and
/// C_cov(π*) = e^{R/β} / (1 − q + q·e^{R/β}) holds exactly; given a target C this inverts to
/// q = (e^{R/β}/C − 1)/(e^{R/β} − 1). Any algorithm must draw ≈ 1/q samples to ever see the needle.
/// </summary>
/// <remarks>
/// Design choices where the spec is silent:
/// u is a uniformly random signed coordinate axis ±e_i, and distractors are random directions in the
/// other d − 1 coordinates. Then ⟨θ*, φ⟩ is exactly 0 in floating point for every distractor (a generic
/// u would leave ~1e-17 residues, which β = 1e-4 magnifies), so the requested C_cov is met to rounding.
/// The algorithms are rotation invariant (ridge, elliptic norms), so nothing is lost by the alignment.
/// Probabilities are built in log space: q ≈ e^{−R/β} (or smaller) is stored as log q, never exp'd.
/// </remarks>
public static class NeedleFamily
{
    /// <summary>Upper limit on prompts × responses × d (2 GB of features), so a typo cannot exhaust memory.</summary>
    public const double MaxTotalFeatures = 2.5e8;

    /// <summary>Parameter names, in the order used in the instance name.</summary>
    public static IReadOnlyList<string> Known { get; } =
        ["ccov", "q", "R", "beta", "d", "prompts", "responses", "noise", "sigma", "zipf", "distractor", "seed"];

    /// <summary>Generates the instance from (parameters, seed); <c>seed=</c> in the parameters overrides <paramref name="seed"/>.</summary>
    public static EnumerableInstance Create(IReadOnlyDictionary<string, string> parameters, ulong seed)
    {
        var p = FamilyParameters.Open("needle", parameters, Known);
        if (p.Has("ccov") && p.Has("q"))
            throw new InputException("needle: give either 'ccov' or 'q', not both");
        double r = p.Real("R", 1.0, 0, double.PositiveInfinity, minExclusive: true);
        double beta = p.Beta(0.1);
        int d = p.Integer("d", 4, 1, 100_000);
        int promptCount = p.Integer("prompts", 8, 1, 1_000_000);
        int n = p.Integer("responses", 2000, 2, int.MaxValue);
        var noise = p.Noise();
        double zipf = p.Real("zipf", 1.0, 0, 100);
        double distractor = p.Real("distractor", 0.5, 0, 1);
        seed = p.Seed("seed", seed);

        if ((long)n * d > Array.MaxLength)
            throw new InputException($"needle: responses × d = {(long)n * d} features per prompt is too large (max {Array.MaxLength})");
        if ((double)promptCount * n * d > MaxTotalFeatures)
            throw new InputException($"needle: prompts × responses × d = {(double)promptCount * n * d:G3} numbers is too large (max {MaxTotalFeatures:G3}, about 2 GB)");
        if (d == 1 && distractor > 0)
            throw new InputException("needle: d=1 leaves no direction orthogonal to u for the distractors; use d ≥ 2 or distractor=0");
        if (noise.Kind == NoiseKind.Bernoulli && r > 1)
            throw new InputException($"needle: noise=bernoulli needs rewards in [0,1], but R={FamilyParameters.Fmt(r)}");
        // r* ∈ {0, R} with unit needle feature: R/β is the reward scale.
        if (!(r / beta <= InstanceLimits.MaxRewardOverBeta))
            throw new InputException($"needle: R/beta = {FamilyParameters.Fmt(r / beta)} exceeds {FamilyParameters.Fmt(InstanceLimits.MaxRewardOverBeta)} (R={FamilyParameters.Fmt(r)}, beta={FamilyParameters.Fmt(beta)}): r/beta this large leaves no precision for log pi_ref");

        // log q and log(1 − q), both without forming e^{R/β} (a = R/β may be 10^4 or more).
        double a = r / beta;
        double logQ, log1mQ;
        string massPart;
        if (p.Has("q"))
        {
            double q = p.Real("q", 0, 0, 1, minExclusive: true, maxExclusive: true);
            logQ = Math.Log(q);
            log1mQ = PreciseMath.Log1P(-q);
            massPart = $"q={FamilyParameters.Fmt(q)}";
        }
        else
        {
            double c = p.Real("ccov", 100, 1, double.PositiveInfinity, minExclusive: true);
            double logC = Math.Log(c);
            if (logC >= a)
                throw new InputException($"needle: ccov must be below e^(R/beta) = {FamilyParameters.Fmt(Math.Exp(a))} (got {FamilyParameters.Fmt(c)}); raise R or lower beta");
            // q = (e^a/C − 1)/(e^a − 1)  ⇒  log q = −log C + log(1 − C·e^{−a}) − log(1 − e^{−a}),
            // 1 − q = (1 − 1/C)/(1 − e^{−a}).
            double log1mEma = PreciseMath.LogOneMinusExp(-a);
            logQ = -logC + PreciseMath.LogOneMinusExp(logC - a) - log1mEma;
            log1mQ = PreciseMath.LogOneMinusExp(-logC) - log1mEma;
            massPart = $"ccov={FamilyParameters.Fmt(c)}";
        }
        if (!double.IsFinite(logQ) || !double.IsFinite(log1mQ))
            throw new InputException($"needle: the needle mass underflows even in log space (log q = {FamilyParameters.Fmt(logQ)})");

        // Zipf weights −zipf·log k for ranks k = 1..n−1, normalized in log space.
        var logRank = new double[n - 1];
        for (int k = 0; k < logRank.Length; k++) logRank[k] = -zipf * Math.Log(k + 1);
        double logH = LogMath.LogSumExp(logRank);

        var root = new Rng(seed).Split("needle");
        var axisRng = root.Split("u");
        int axis = axisRng.NextInt(d);
        double sign = axisRng.NextDouble() < 0.5 ? -1.0 : 1.0;
        var theta = new double[d];
        theta[axis] = sign * r;

        var prompts = new EnumerablePrompt[promptCount];
        for (int x = 0; x < promptCount; x++)
        {
            var rng = root.Split("prompt").Split((ulong)x);
            int needle = rng.NextInt(n);
            var ranks = RandomPermutation(n - 1, rng);
            var logProbs = new double[n];
            var features = new double[n * d];
            for (int y = 0, k = 0; y < n; y++)
            {
                var row = features.AsSpan(y * d, d);
                if (y == needle)
                {
                    logProbs[y] = logQ;
                    row[axis] = sign;
                    continue;
                }
                logProbs[y] = log1mQ + logRank[ranks[k++]] - logH;
                if (distractor > 0) LinearFamily.RandomOnSphere(row, distractor, rng, excludedAxis: axis);
            }
            prompts[x] = new EnumerablePrompt(1.0 / promptCount, logProbs, features, d, theta);
        }

        string noisePart = noise.Kind == NoiseKind.Gaussian ? $"noise=gaussian,sigma={FamilyParameters.Fmt(noise.Sigma)}" : $"noise={noise.Name}";
        string name = $"needle({massPart},R={FamilyParameters.Fmt(r)},beta={FamilyParameters.Fmt(beta)},d={d},prompts={promptCount}," +
                      $"responses={n},{noisePart},zipf={FamilyParameters.Fmt(zipf)},distractor={FamilyParameters.Fmt(distractor)},seed={seed})";
        return new EnumerableInstance(name, beta, theta, noise, prompts);
    }

    internal static int[] RandomPermutation(int n, Rng rng)
    {
        var perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (perm[i], perm[j]) = (perm[j], perm[i]);
        }
        return perm;
    }
}
