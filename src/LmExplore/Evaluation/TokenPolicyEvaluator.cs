using LmExplore.Instances;
using LmExplore.Policies;

namespace LmExplore.Evaluation;

/// <summary>The exact value of a token-level policy on an autoregressive instance.</summary>
/// <param name="J">J_β(q) = E[Σ_h r(s_{h−1},a_h)] − β·KL(q ‖ π_ref) over whole responses.</param>
/// <param name="ExpectedReward">E_{x~ρ, a~q}[r*(x, a_{1:H})].</param>
/// <param name="KlToRef">E_x KL(q(·|x) ‖ π_ref(·|x)) over whole responses.</param>
/// <param name="KlToOptimal">E_x KL(q(·|x) ‖ π*_β(·|x)); β times it equals J_opt − J (checked by tests).</param>
/// <param name="ExpectedCalls">Expected token calls per response, E_q Σ_h calls_h(s_{h−1}).</param>
public readonly record struct TokenPolicyValue(double J, double ExpectedReward, double KlToRef, double KlToOptimal, double ExpectedCalls);

/// <summary>
/// Exact evaluation of a token-level policy whose next-token law depends only on (h, s) — a <see cref="TokenLaw"/> —
/// by one forward pass over (h, s): with d_0 = the prompts' initial-state distribution and
/// d_h(T(s,a)) += d_{h−1}(s)·q_h(a|s),
/// <code>
/// E r = Σ_h Σ_s d_{h−1}(s) Σ_a q_h(a|s)·r(s,a)
/// KL(q‖π_ref) = Σ_h Σ_s d_{h−1}(s) Σ_a q_h(a|s)·(log q_h(a|s) − log π_ref(a|s))      (chain rule of KL)
/// KL(q‖π*)   = Σ_h Σ_s d_{h−1}(s) Σ_a q_h(a|s)·(log q_h(a|s) − log π*_h(a|s))
/// </code>
/// Cost O(H·S·V), for V^H far beyond enumeration. Log space for the ratios; tokens with q = 0 contribute nothing.
/// </summary>
public static class TokenPolicyEvaluator
{
    /// <summary>Evaluates <paramref name="law"/> on <paramref name="inst"/>.</summary>
    public static TokenPolicyValue Evaluate(AutoregressiveInstance inst, TokenLaw law)
    {
        int H = inst.Horizon, S = inst.States, V = inst.Vocab;
        if (law.LogProbs.Length != H * S * V || law.CallsPerStep.Length != H * S) throw new ArgumentException("law does not have shape H × S × V");
        var logValues = AutoregressiveEvaluator.LogValueTable(inst);
        var occupancy = new double[S];
        var next = new double[S];
        foreach (var p in inst.Prompts) occupancy[p.InitialState] += p.Weight;
        double weight = occupancy.Sum();
        for (int s = 0; s < S; s++) occupancy[s] /= weight;
        double reward = 0, klRef = 0, klOpt = 0, calls = 0;
        for (int h = 1; h <= H; h++)
        {
            Array.Clear(next);
            for (int s = 0; s < S; s++)
            {
                double ds = occupancy[s];
                if (ds == 0) continue;
                calls += ds * law.CallsPerStep[(h - 1) * S + s];
                var row = new ReadOnlySpan<double>(law.LogProbs, ((h - 1) * S + s) * V, V);
                var logRef = inst.LogRefRow(s);
                double r = 0, kr = 0, ko = 0;
                for (int a = 0; a < V; a++)
                {
                    double lq = row[a];
                    if (double.IsNegativeInfinity(lq)) continue;
                    double q = Math.Exp(lq);
                    r += q * inst.TokenReward(s, a);
                    kr += q * (lq - logRef[a]);
                    ko += q * (lq - logRef[a] - AutoregressiveEvaluator.LogTokenRatio(inst, logValues, h, s, a));
                    next[inst.Next(s, a)] += ds * q;
                }
                reward += ds * r;
                klRef += ds * kr;
                klOpt += ds * ko;
            }
            (occupancy, next) = (next, occupancy);
        }
        return new TokenPolicyValue(reward - inst.Beta * klRef, reward, klRef, klOpt, calls);
    }

    /// <summary>The law of the token-level linear softmax policy q_h(a|s) ∝ π_ref(a|s)·exp(⟨θ_h, φ(s,a)⟩/β) with
    /// token features φ = [ψ, e_T] (<see cref="Oracles.TokenFeatures"/>); <paramref name="thetas"/>[h−1] = θ_h. Calls: one per step.</summary>
    public static TokenLaw SoftmaxLaw(AutoregressiveInstance inst, IReadOnlyList<double[]> thetas)
    {
        int H = inst.Horizon, S = inst.States, V = inst.Vocab, D = Oracles.TokenFeatures.Dimension(inst);
        if (thetas.Count != H) throw new ArgumentException("one θ per layer");
        var features = Oracles.TokenFeatures.Build(inst);
        var logProbs = new double[H * S * V];
        var calls = new double[H * S];
        Array.Fill(calls, 1.0);
        for (int h = 1; h <= H; h++)
            for (int s = 0; s < S; s++)
            {
                var row = logProbs.AsSpan(((h - 1) * S + s) * V, V);
                var logRef = inst.LogRefRow(s);
                for (int a = 0; a < V; a++)
                    row[a] = logRef[a] + System.Numerics.Tensors.TensorPrimitives.Dot(thetas[h - 1], features.AsSpan((s * V + a) * D, D)) / inst.Beta;
                double lse = Numerics.LogMath.LogSumExp(row);
                for (int a = 0; a < V; a++) row[a] -= lse;
            }
        return new TokenLaw(logProbs, calls, new Dictionary<string, double>());
    }
}
