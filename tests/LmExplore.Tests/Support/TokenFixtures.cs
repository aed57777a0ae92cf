using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Support;

/// <summary>Small random autoregressive instances and helpers shared by the multi-turn tests.</summary>
internal static class TokenFixtures
{
    /// <summary>A random instance: V tokens, H steps, S states, d features, random π_ref rows (full support), random
    /// transitions, features and θ*, 1–2 prompts.</summary>
    public static AutoregressiveInstance Random(int vocab, int horizon, int states, int d, double beta, ulong seed, double scale = 1)
    {
        var rng = new Rng(seed);
        var theta = new double[d];
        for (int i = 0; i < d; i++) theta[i] = rng.NextGaussian();
        var transition = new int[states * vocab];
        var logRef = new double[states * vocab];
        var features = new double[states * vocab * d];
        for (int s = 0; s < states; s++)
        {
            var w = new double[vocab];
            for (int a = 0; a < vocab; a++) w[a] = 0.05 + rng.NextDouble();
            double total = w.Sum();
            for (int a = 0; a < vocab; a++)
            {
                transition[s * vocab + a] = rng.NextInt(states);
                logRef[s * vocab + a] = Math.Log(w[a] / total);
                for (int k = 0; k < d; k++) features[(s * vocab + a) * d + k] = scale * (rng.NextDouble() - 0.5);
            }
        }
        int prompts = 1 + rng.NextInt(2);
        var list = new AutoregressivePrompt[prompts];
        for (int x = 0; x < prompts; x++) list[x] = new AutoregressivePrompt(1.0 / prompts, rng.NextInt(states));
        return new AutoregressiveInstance("random", beta, horizon, vocab, states, theta, NoiseModel.None, list, transition, logRef, features);
    }

    /// <summary>Random θ_h ∈ R^D per layer.</summary>
    public static double[][] RandomThetas(AutoregressiveInstance inst, ulong seed, double scale = 0.5)
    {
        var rng = new Rng(seed);
        int D = TokenFeatures.Dimension(inst);
        return Enumerable.Range(0, inst.Horizon).Select(_ => Enumerable.Range(0, D).Select(_ => scale * rng.NextGaussian()).ToArray()).ToArray();
    }

    /// <summary>Every token sequence of a prompt (base-V digits, first token most significant) with its probability
    /// under the law's rows, its π_ref probability and its reward — brute force, independent of the DP.</summary>
    public static IEnumerable<(int[] Tokens, double LogP, double LogRef, double Reward)> Enumerate(AutoregressiveInstance inst, double[] lawLogProbs, int prompt)
    {
        int H = inst.Horizon, V = inst.Vocab, S = inst.States;
        int n = (int)Math.Pow(V, H);
        for (int y = 0; y < n; y++)
        {
            var tokens = new int[H];
            for (int h = H - 1, rest = y; h >= 0; h--, rest /= V) tokens[h] = rest % V;
            int s = inst.Prompts[prompt].InitialState;
            double lp = 0, lr = 0, r = 0;
            for (int h = 0; h < H; h++)
            {
                int a = tokens[h];
                lp += lawLogProbs[(h * S + s) * V + a];
                lr += inst.LogRefRow(s)[a];
                r += inst.TokenReward(s, a);
                s = inst.Next(s, a);
            }
            yield return (tokens, lp, lr, r);
        }
    }

    /// <summary>Counts the token calls and reward queries it forwards, independently of the meter.</summary>
    public sealed class CountingTokenEnvironment(ITokenLearnerEnvironment inner) : ITokenLearnerEnvironment
    {
        public long Tokens { get; private set; }
        public long Queries { get; private set; }
        public Meter Meter => inner.Meter;
        public double Beta => inner.Beta;
        public int Horizon => inner.Horizon;
        public int Vocab => inner.Vocab;
        public int Dimension => inner.Dimension;
        public bool OffersDistributions => inner.OffersDistributions;
        public Prompt DrawPrompt(Rng rng) => inner.DrawPrompt(rng);
        public Prefix Start(Prompt prompt) => inner.Start(prompt);
        public Token Next(Prefix prefix, Rng rng) { var t = inner.Next(prefix, rng); Tokens++; return t; }
        public void NextDistribution(Prefix prefix, Span<Token> destination) { inner.NextDistribution(prefix, destination); Tokens++; }
        public Prefix Append(Token token) => inner.Append(token);
        public ReadOnlySpan<double> Features(Token token) => inner.Features(token);
        public double Query(Prefix complete) { double r = inner.Query(complete); Queries++; return r; }
    }
}
