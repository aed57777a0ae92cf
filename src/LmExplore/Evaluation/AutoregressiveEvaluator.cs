using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Evaluation;

/// <summary>
/// Exact evaluation of an <see cref="AutoregressiveInstance"/> by dynamic programming over (h, s) — cost
/// O(H·S·V), for V^H far beyond enumeration (docs/FRAMEWORK.md, the chain family). Rewards are additive over tokens,
/// so the soft values are, in units of β (L = V/β, log space throughout):
/// <code>
/// L_H(s) = 0,   L_{h−1}(s) = log Σ_a π_ref(a|s)·exp(r(s,a)/β + L_h(T(s,a)))
/// J_β(π*) = β·E_x L_0(s_0(x)),   π*_h(a|s) = π_ref(a|s)·exp(r(s,a)/β + L_h(T(s,a)) − L_{h−1}(s))
/// </code>
/// C_cond(π*) is the largest token ratio π*_h/π_ref over steps h and states reachable at step h−1 (π_ref has
/// full support, so every path of the transition graph is a prefix with positive probability, and the ratio
/// depends on the prefix only through (h, s)). C_cov(π*) is the largest product of token ratios along a path:
/// a max-product DP.
/// </summary>
public static class AutoregressiveEvaluator
{
    /// <summary>The table L_h(s) = V_h(s)/β, h = 0..H, row-major (H+1) × S, with reward scale <paramref name="scale"/>/β
    /// (scale 1: soft values; scale 2: used for the average coverage).</summary>
    public static double[] LogValueTable(AutoregressiveInstance inst, double scale = 1)
    {
        int H = inst.Horizon, S = inst.States, V = inst.Vocab;
        var L = new double[(H + 1) * S];
        double invBeta = scale / inst.Beta;
        for (int h = H; h >= 1; h--)
        {
            var next = new ReadOnlySpan<double>(L, h * S, S);
            var cur = new Span<double>(L, (h - 1) * S, S);
            for (int s = 0; s < S; s++)
            {
                var logRef = inst.LogRefRow(s);
                var acc = new LogMath.Accumulator();
                for (int a = 0; a < V; a++) acc.Add(logRef[a] + inst.TokenReward(s, a) * invBeta + next[inst.Next(s, a)]);
                cur[s] = acc.Value;
            }
        }
        return L;
    }

    /// <summary>J_β(π*) = β·E_x L_0(s_0(x)).</summary>
    public static double OptimalValue(AutoregressiveInstance inst)
    {
        var L = LogValueTable(inst);
        double j = 0;
        foreach (var p in inst.Prompts) j += p.Weight * inst.Beta * L[p.InitialState];
        return j;
    }

    /// <summary>J_β(π_ref) = E_x E_{π_ref} Σ_h r(s_{h−1}, a_h) (the KL term vanishes).</summary>
    public static double ReferenceValue(AutoregressiveInstance inst)
    {
        int S = inst.States, V = inst.Vocab;
        var u = new double[S];
        var prev = new double[S];
        for (int h = inst.Horizon; h >= 1; h--)
        {
            (prev, u) = (u, prev); // prev = U_h
            for (int s = 0; s < S; s++)
            {
                var logRef = inst.LogRefRow(s);
                double e = 0;
                for (int a = 0; a < V; a++) e += Math.Exp(logRef[a]) * (inst.TokenReward(s, a) + prev[inst.Next(s, a)]);
                u[s] = e;
            }
        }
        double j = 0;
        foreach (var p in inst.Prompts) j += p.Weight * u[p.InitialState];
        return j;
    }

    /// <summary>log π*_h(a|s) − log π_ref(a|s) = r(s,a)/β + L_h(T(s,a)) − L_{h−1}(s), for h = 1..H.</summary>
    public static double LogTokenRatio(AutoregressiveInstance inst, double[] logValues, int h, int state, int token)
    {
        int S = inst.States;
        return inst.TokenReward(state, token) / inst.Beta + logValues[h * S + inst.Next(state, token)] - logValues[(h - 1) * S + state];
    }

    /// <summary>reachable[h·S + s]: state s can be the state after h tokens (h = 0..H−1) from some prompt.</summary>
    public static bool[] Reachable(AutoregressiveInstance inst)
    {
        int H = inst.Horizon, S = inst.States, V = inst.Vocab;
        var reach = new bool[H * S];
        foreach (var p in inst.Prompts) reach[p.InitialState] = true;
        for (int h = 1; h < H; h++)
            for (int s = 0; s < S; s++)
                if (reach[(h - 1) * S + s])
                    for (int a = 0; a < V; a++) reach[h * S + inst.Next(s, a)] = true;
        return reach;
    }

    /// <summary>log C_cond(π*) = max over h, reachable prefixes and tokens of log π*_h/π_ref,h.</summary>
    public static double LogConditionalCoverageOfOptimal(AutoregressiveInstance inst)
    {
        int H = inst.Horizon, S = inst.States, V = inst.Vocab;
        var L = LogValueTable(inst);
        var reach = Reachable(inst);
        double best = double.NegativeInfinity;
        for (int h = 1; h <= H; h++)
            for (int s = 0; s < S; s++)
                if (reach[(h - 1) * S + s])
                    for (int a = 0; a < V; a++) best = Math.Max(best, LogTokenRatio(inst, L, h, s, a));
        return best;
    }

    /// <summary>C_cond(π*) (may be +∞ when it overflows a double; use the log version then).</summary>
    public static double ConditionalCoverageOfOptimal(AutoregressiveInstance inst) => Math.Exp(LogConditionalCoverageOfOptimal(inst));

    /// <summary>log C_cov(π*) = max_x max_{a_{1:H}} Σ_h log(π*_h/π_ref,h) — max-product DP over (h, s).</summary>
    public static double LogCoverageOfOptimal(AutoregressiveInstance inst)
    {
        int H = inst.Horizon, S = inst.States, V = inst.Vocab;
        var L = LogValueTable(inst);
        var m = new double[S];     // M_H = 0
        var prev = new double[S];
        for (int h = H; h >= 1; h--)
        {
            (prev, m) = (m, prev);
            for (int s = 0; s < S; s++)
            {
                double best = double.NegativeInfinity;
                for (int a = 0; a < V; a++) best = Math.Max(best, LogTokenRatio(inst, L, h, s, a) + prev[inst.Next(s, a)]);
                m[s] = best;
            }
        }
        double result = double.NegativeInfinity;
        foreach (var p in inst.Prompts) result = Math.Max(result, m[p.InitialState]);
        return result;
    }

    /// <summary>C_cov(π*) (may be +∞ when it overflows a double; use the log version then).</summary>
    public static double CoverageOfOptimal(AutoregressiveInstance inst) => Math.Exp(LogCoverageOfOptimal(inst));

    /// <summary>E_x E_{y~π*}[π*(y|x)/π_ref(y|x)] = E_x exp(L⁽²⁾_0 − 2·L_0), with L⁽²⁾ the soft values at reward scale 2/β.</summary>
    public static double AverageCoverageOfOptimal(AutoregressiveInstance inst)
    {
        var L = LogValueTable(inst);
        var L2 = LogValueTable(inst, 2);
        double total = 0;
        foreach (var p in inst.Prompts) total += p.Weight * Math.Exp(L2[p.InitialState] - 2 * L[p.InitialState]);
        return total;
    }

    /// <summary>R_max = max |r*| over sequences.</summary>
    public static double RMax(AutoregressiveInstance inst)
    {
        var (min, max) = inst.RewardRange();
        return Math.Max(Math.Abs(min), Math.Abs(max));
    }

    /// <summary>All summary numbers (what <c>instance inspect</c> prints for an autoregressive instance).</summary>
    /// <remarks>J_ref ≤ J_opt ≤ max reward and 1 ≤ average coverage ≤ C_cov hold exactly (Jensen, Cauchy–Schwarz);
    /// β·L_0 carries a rounding of about β·H·1e-16, which at β = 10³ with tiny rewards can exceed the true gap
    /// J_opt − J_ref, so the printed values are clamped to the bounds they provably obey.</remarks>
    public static AutoregressiveSummary Summarize(AutoregressiveInstance inst)
    {
        var (_, maxReward) = inst.RewardRange();
        double jRef = ReferenceValue(inst);
        double jOpt = Math.Clamp(OptimalValue(inst), Math.Min(jRef, maxReward), maxReward);
        jRef = Math.Min(jRef, jOpt);
        double cCov = Math.Max(1, CoverageOfOptimal(inst));
        return new(
            Dimension: inst.Dimension, Prompts: inst.Prompts.Count, Vocab: inst.Vocab, Horizon: inst.Horizon, States: inst.States,
            Beta: inst.Beta, RMax: RMax(inst), JOpt: jOpt, JRef: jRef,
            CCov: cCov, CCond: Math.Max(1, ConditionalCoverageOfOptimal(inst)), AverageCoverage: Math.Clamp(AverageCoverageOfOptimal(inst), 1, cCov));
    }
}

/// <summary>Summary numbers of an autoregressive instance.</summary>
public sealed record AutoregressiveSummary(int Dimension, int Prompts, int Vocab, int Horizon, int States, double Beta, double RMax,
    double JOpt, double JRef, double CCov, double CCond, double AverageCoverage);
