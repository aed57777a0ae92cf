using System.Numerics;
using LmExplore.Numerics;

namespace LmExplore.Instances;

/// <summary>
/// The <c>dnf</c> family (issue 8, the proper-exploration barrier): responses are the assignments
/// y ∈ {0,1}ⁿ with uniform π_ref; the features are the indicators of the m terms of a random width-k DNF
/// (each term: k distinct variables, each with a random sign), so φ_j(y) = 1 iff y satisfies term j.
/// Construction <c>count</c>: θ* = c·(1,…,1), so r*(y) = c·(number of satisfied terms), with c &gt; 0 solved by
/// bisection in log c so that C_cov(π*) equals the parameter <c>ccov</c> (C_cov is increasing in c, from 1 at
/// c = 0 to 1/P_ref(most terms satisfied) as c → ∞, so a solution exists exactly below that limit).
/// One prompt of weight 1.
/// </summary>
/// <remarks>
/// <para><b>Collapsing assignments to feature patterns.</b> The instance stores one response per distinct
/// pattern φ(y) ∈ {0,1}^m, with π_ref-mass (number of assignments with that pattern)/2ⁿ (all 2ⁿ assignments are
/// enumerated once, n ≤ 22). This is exact for every quantity of the framework: rewards r* = ⟨θ*,φ⟩, every
/// linear-softmax policy π_θ ∝ π_ref·exp(⟨θ,φ⟩/β), π* and the sampler laws all depend on y only through φ(y), so
/// the probability a policy gives a pattern is the sum over its assignments, π(y)/π_ref(y) is constant within a
/// pattern (hence C_cov, KL and J_β are unchanged), and π_ref(pattern) is the sum of the assignments' masses.</para>
/// <para><b>Caveat.</b> A sampling oracle over patterns is equivalent to one over assignments only because π_ref
/// is uniform (a pattern's mass is its assignment count over 2ⁿ, so drawing a uniform assignment and reporting
/// its pattern is drawing a pattern from the collapsed π_ref) and because learners see responses only through
/// φ and the reward oracle (they cannot tell two assignments of one pattern apart). A learner that could read
/// y itself (e.g. to propose assignments, as a Max-k-DNF solver would) is outside this framework; the
/// collapsed instance makes no claim about it.</para>
/// </remarks>
public static class DnfFamily
{
    /// <summary>Largest n (2ⁿ assignments are enumerated once).</summary>
    public const int MaxVariables = 22;

    /// <summary>Most terms (a pattern is a 64-bit mask).</summary>
    public const int MaxTerms = 64;

    /// <summary>Parameter names, in the order used in the instance name.</summary>
    public static IReadOnlyList<string> Known { get; } = ["n", "k", "m", "construction", "ccov", "beta", "noise", "sigma", "seed"];

    /// <summary>Generates the instance from (parameters, seed); <c>seed=</c> in the parameters overrides <paramref name="seed"/>.</summary>
    public static EnumerableInstance Create(IReadOnlyDictionary<string, string> parameters, ulong seed)
    {
        var p = FamilyParameters.Open("dnf", parameters, Known);
        int n = p.Integer("n", 10, 1, MaxVariables);
        int k = p.Integer("k", Math.Min(3, n), 1, n);
        int m = p.Integer("m", Math.Min(2 * n, MaxTerms), 1, MaxTerms);
        string construction = p.Choice("construction", "count", "count");
        double ccov = p.Real("ccov", 6, 1, double.PositiveInfinity, minExclusive: true);
        double beta = p.Real("beta", 1, 0, double.PositiveInfinity, minExclusive: true);
        var noise = p.Noise();
        seed = p.Seed("seed", seed);
        if (noise.Kind == NoiseKind.Bernoulli)
            throw new InputException("dnf: noise=bernoulli needs rewards in [0,1], but 'count' rewards reach c·m");

        var rng = new Rng(seed).Split("dnf");
        var (varMask, wantBits) = RandomTerms(n, k, m, rng.Split("terms"));
        var counts = PatternCounts(n, varMask, wantBits);
        if ((double)counts.Count * m > LinearFamily.MaxTotalFeatures)
            throw new InputException($"dnf: {counts.Count} patterns × m = {m} features is too large (max {LinearFamily.MaxTotalFeatures:G3})");

        // Responses in a deterministic order (ascending mask), mass = count/2ⁿ in log space.
        var patterns = counts.Keys.OrderBy(x => x).ToArray();
        var logProbs = new double[patterns.Length];
        var features = new double[patterns.Length * m];
        var satisfied = new int[patterns.Length];
        for (int i = 0; i < patterns.Length; i++)
        {
            logProbs[i] = Math.Log(counts[patterns[i]]) - n * Math.Log(2);
            for (int j = 0; j < m; j++)
                if ((patterns[i] >> j & 1UL) != 0) features[i * m + j] = 1;
            satisfied[i] = BitOperations.PopCount(patterns[i]);
        }

        double c = SolveScale(logProbs, satisfied, beta, ccov);
        var theta = new double[m];
        Array.Fill(theta, c);
        // Enumerating Y = {0,1}ⁿ visits every assignment, not every pattern: charge 2ⁿ.
        var prompt = new EnumerablePrompt(1.0, logProbs, features, m, theta) { EnumerationCost = 1L << n };
        string noisePart = noise.Kind == NoiseKind.Gaussian ? $"noise=gaussian,sigma={FamilyParameters.Fmt(noise.Sigma)}" : $"noise={noise.Name}";
        string name = $"dnf(n={n},k={k},m={m},construction={construction},ccov={FamilyParameters.Fmt(ccov)},beta={FamilyParameters.Fmt(beta)},{noisePart},seed={seed})";
        return new EnumerableInstance(name, beta, theta, noise, [prompt]);
    }

    /// <summary>m random terms: for each, k distinct variables (partial Fisher–Yates) and a random sign each.
    /// Term j is satisfied by assignment a iff (a &amp; varMask[j]) == wantBits[j].</summary>
    internal static (uint[] VarMask, uint[] WantBits) RandomTerms(int n, int k, int m, Rng rng)
    {
        var varMask = new uint[m];
        var want = new uint[m];
        var vars = new int[n];
        for (int j = 0; j < m; j++)
        {
            for (int i = 0; i < n; i++) vars[i] = i;
            for (int i = 0; i < k; i++)
            {
                int r = i + rng.NextInt(n - i);
                (vars[i], vars[r]) = (vars[r], vars[i]);
                varMask[j] |= 1u << vars[i];
                if (rng.NextDouble() < 0.5) want[j] |= 1u << vars[i];
            }
        }
        return (varMask, want);
    }

    /// <summary>Enumerates the 2ⁿ assignments once: the number of assignments per distinct pattern of satisfied terms.</summary>
    internal static Dictionary<ulong, long> PatternCounts(int n, uint[] varMask, uint[] wantBits)
    {
        var counts = new Dictionary<ulong, long>();
        uint total = 1u << n;
        int m = varMask.Length;
        for (uint a = 0; a < total; a++)
        {
            ulong pattern = 0;
            for (int j = 0; j < m; j++)
                if ((a & varMask[j]) == wantBits[j]) pattern |= 1UL << j;
            counts[pattern] = counts.GetValueOrDefault(pattern) + 1;
        }
        return counts;
    }

    /// <summary>
    /// c &gt; 0 with C_cov(π*) = <paramref name="ccov"/> for θ* = c·1: with s(y) = number of satisfied terms and s_max its
    /// maximum, log C_cov(c) = −log Σ_y π_ref(y)·exp(−c·(s_max − s(y))/β), increasing in c. Bisection on log c.
    /// </summary>
    internal static double SolveScale(double[] logProbs, int[] satisfied, double beta, double ccov)
    {
        int sMax = satisfied.Max();
        double logTopMass = double.NegativeInfinity;
        for (int i = 0; i < satisfied.Length; i++)
            if (satisfied[i] == sMax) logTopMass = LogMath.LogAddExp(logTopMass, logProbs[i]);
        double logTarget = Math.Log(ccov);
        if (!(logTarget < -logTopMass))
            throw new InputException($"dnf: ccov must be below 1/π_ref(most terms satisfied) = {FamilyParameters.Fmt(Math.Exp(-logTopMass))} on this formula (got {FamilyParameters.Fmt(ccov)})");
        var t = new double[logProbs.Length];
        double LogCoverage(double c)
        {
            for (int i = 0; i < t.Length; i++) t[i] = logProbs[i] - c * (sMax - satisfied[i]) / beta;
            return -LogMath.LogSumExp(t);
        }
        double lo = -40, hi = 40;   // log c: C_cov(e^−40) ≈ 1, C_cov(e^40) = 1/π_ref(top) to rounding
        for (int it = 0; it < 200 && hi - lo > 1e-15; it++)
        {
            double mid = 0.5 * (lo + hi);
            if (LogCoverage(Math.Exp(mid)) < logTarget) lo = mid; else hi = mid;
        }
        return Math.Exp(0.5 * (lo + hi));
    }

    /// <summary>
    /// For a <c>dnf</c> instance: how many assignments satisfy exactly j terms, j = 0..m (read off the collapsed
    /// responses: j = Σ φ, count = π_ref-mass·2ⁿ). Null for instances of other families.
    /// </summary>
    public static long[]? SatisfiedTermHistogram(EnumerableInstance instance)
    {
        if (!instance.Name.StartsWith("dnf(", StringComparison.Ordinal)) return null;
        var prompt = instance.Prompts[0];
        int n = int.Parse(instance.Name.AsSpan(6, instance.Name.IndexOf(',') - 6), System.Globalization.CultureInfo.InvariantCulture);
        var histogram = new long[instance.Dimension + 1];
        for (int y = 0; y < prompt.ResponseCount; y++)
        {
            int j = (int)Math.Round(System.Numerics.Tensors.TensorPrimitives.Sum(prompt.FeatureRow(y)));
            histogram[j] += (long)Math.Round(Math.Exp(prompt.LogRefProbs[y] + n * Math.Log(2)));
        }
        return histogram;
    }
}
