using LmExplore.Numerics;

namespace LmExplore.Instances;

/// <summary>
/// The <c>chain</c> family (docs/FRAMEWORK.md, claim 4): a random autoregressive instance with a finite Markov state.
/// Tokens a ∈ [0, V), horizon H, states S; transitions T(s,a) uniform at random; π_ref(·|s) Zipf-like
/// (p_k ∝ 1/k^zipf, random order per state); token features ψ(s,a) random directions of norm <c>psi</c>;
/// θ* uniform on the sphere of radius B. The reward is r* = Σ_h ⟨θ*, ψ(s_{h−1}, a_h)⟩, so per-token log
/// ratios of π* are O(psi·B/β) — C_cond stays small while C_cov ≈ C_cond^H grows exponentially in H.
/// Prompts (uniform weights) start in random states.
/// </summary>
public static class ChainFamily
{
    /// <summary>Parameter names, in the order used in the instance name.</summary>
    public static IReadOnlyList<string> Known { get; } =
        ["vocab", "horizon", "states", "d", "psi", "B", "beta", "zipf", "prompts", "noise", "sigma", "seed"];

    /// <summary>Generates the instance from (parameters, seed); <c>seed=</c> in the parameters overrides <paramref name="seed"/>.</summary>
    public static AutoregressiveInstance Create(IReadOnlyDictionary<string, string> parameters, ulong seed)
    {
        var p = FamilyParameters.Open("chain", parameters, Known);
        int vocab = p.Integer("vocab", 3, 1, 1_000_000);
        int horizon = p.Integer("horizon", 8, 1, 1_000_000);
        int states = p.Integer("states", 3, 1, 1_000_000);
        int d = p.Integer("d", 2, 1, 10_000);
        double psi = p.Real("psi", 0.3, 0, InstanceLimits.MaxMagnitude);
        double b = p.Real("B", 1.0, 0, InstanceLimits.MaxMagnitude);
        double beta = p.Beta(0.2);
        double zipf = p.Real("zipf", 1.0, 0, 100);
        int promptCount = p.Integer("prompts", 1, 1, 1_000_000);
        var noise = p.Noise();
        seed = p.Seed("seed", seed);
        if ((double)states * vocab * d > 2.5e8)
            throw new InputException($"chain: states × vocab × d = {(double)states * vocab * d:G3} numbers is too large (max 2.5e8)");
        // Token features have norm ≤ psi and ‖θ‖ = B: a sequence reward is at most horizon·psi·B.
        if (!((double)horizon * psi * b / beta <= InstanceLimits.MaxRewardOverBeta))
            throw new InputException($"chain: horizon·psi·B/beta = {FamilyParameters.Fmt((double)horizon * psi * b / beta)} exceeds {FamilyParameters.Fmt(InstanceLimits.MaxRewardOverBeta)}: r/beta this large leaves no precision for log pi_ref");

        var root = new Rng(seed).Split("chain");
        var theta = new double[d];
        LinearFamily.RandomOnSphere(theta, b, root.Split("theta"));

        var logRank = new double[vocab];
        for (int k = 0; k < vocab; k++) logRank[k] = -zipf * Math.Log(k + 1);
        double logH = LogMath.LogSumExp(logRank);

        var transition = new int[states * vocab];
        var logRef = new double[states * vocab];
        var features = new double[states * vocab * d];
        for (int s = 0; s < states; s++)
        {
            var rng = root.Split("state").Split((ulong)s);
            var ranks = NeedleFamily.RandomPermutation(vocab, rng);
            for (int a = 0; a < vocab; a++)
            {
                int i = s * vocab + a;
                transition[i] = rng.NextInt(states);
                logRef[i] = logRank[ranks[a]] - logH;
                LinearFamily.RandomOnSphere(features.AsSpan(i * d, d), psi, rng);
            }
        }
        var promptRng = root.Split("prompts");
        var prompts = new AutoregressivePrompt[promptCount];
        for (int x = 0; x < promptCount; x++) prompts[x] = new AutoregressivePrompt(1.0 / promptCount, promptRng.NextInt(states));

        string noisePart = noise.Kind == NoiseKind.Gaussian ? $"noise=gaussian,sigma={FamilyParameters.Fmt(noise.Sigma)}" : $"noise={noise.Name}";
        string name = $"chain(vocab={vocab},horizon={horizon},states={states},d={d},psi={FamilyParameters.Fmt(psi)},B={FamilyParameters.Fmt(b)}," +
                      $"beta={FamilyParameters.Fmt(beta)},zipf={FamilyParameters.Fmt(zipf)},prompts={promptCount},{noisePart},seed={seed})";
        var inst = new AutoregressiveInstance(name, beta, horizon, vocab, states, theta, noise, prompts, transition, logRef, features);
        if (noise.Kind == NoiseKind.Bernoulli)
        {
            var (min, max) = inst.RewardRange();
            if (min < 0 || max > 1)
                throw new InputException($"chain: noise=bernoulli needs every sequence reward in [0,1], but they range over [{FamilyParameters.Fmt(min)}, {FamilyParameters.Fmt(max)}]");
        }
        return inst;
    }
}
