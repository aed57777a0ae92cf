namespace LmExplore.Instances;

/// <summary>A prompt of an autoregressive instance: its weight ρ(x) and the Markov state it starts in.</summary>
/// <param name="Weight">ρ(x) &gt; 0.</param>
/// <param name="InitialState">s_0 ∈ [0, States).</param>
public readonly record struct AutoregressivePrompt(double Weight, int InitialState);

/// <summary>
/// An autoregressive instance with a finite Markov state (docs/FORMATS.md, <c>chain</c> and
/// <c>lmexplore.autoregressive/v1</c>): tokens a ∈ [0, V), horizon H, states S, transition
/// s' = T(s,a), reference next-token law π_ref(a|s), token features ψ(s,a) ∈ R^d and
/// reward r*(x, a_{1:H}) = Σ_h ⟨θ*, ψ(s_{h−1}, a_h)⟩. All arrays are flat and row-major.
/// Exact quantities (J_β, C_cond, C_cov) come from dynamic programming over (h, s), see
/// the dynamic programme of LmExplore.Evaluation.AutoregressiveEvaluator.
/// </summary>
public sealed class AutoregressiveInstance
{
    private readonly int[] _transition;
    private readonly double[] _logRefProbs;
    private readonly double[] _tokenFeatures;
    private readonly double[] _tokenRewards;

    /// <summary>Creates an instance; user input is validated by the JSON reader, this only checks shapes.</summary>
    public AutoregressiveInstance(string name, double beta, int horizon, int vocab, int states, double[] theta, NoiseModel noise,
        IReadOnlyList<AutoregressivePrompt> prompts, int[] transition, double[] logRefProbs, double[] tokenFeatures)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), "beta must be a positive finite number");
        if (horizon < 1 || vocab < 1 || states < 1) throw new ArgumentException("horizon, vocab and states must be ≥ 1");
        if (prompts.Count == 0) throw new ArgumentException("an instance needs at least one prompt");
        int d = theta.Length;
        if (transition.Length != states * vocab || logRefProbs.Length != states * vocab || tokenFeatures.Length != states * vocab * d)
            throw new ArgumentException("transition / refProbs / tokenFeatures do not have shape states × vocab (× featureDim)");
        foreach (var p in prompts)
            if ((uint)p.InitialState >= (uint)states) throw new ArgumentException($"initial state {p.InitialState} out of range");
        foreach (int s in transition)
            if ((uint)s >= (uint)states) throw new ArgumentException($"transition target {s} out of range");
        Name = name;
        Beta = beta;
        Horizon = horizon;
        Vocab = vocab;
        States = states;
        Theta = theta;
        Noise = noise;
        Prompts = prompts;
        _transition = transition;
        _logRefProbs = logRefProbs;
        _tokenFeatures = tokenFeatures;
        _tokenRewards = new double[states * vocab];
        for (int i = 0; i < _tokenRewards.Length; i++)
            _tokenRewards[i] = System.Numerics.Tensors.TensorPrimitives.Dot(new ReadOnlySpan<double>(tokenFeatures, i * d, d), theta);
    }

    /// <summary>A short description.</summary>
    public string Name { get; }
    /// <summary>KL-regularization strength β.</summary>
    public double Beta { get; }
    /// <summary>Horizon H (tokens per response).</summary>
    public int Horizon { get; }
    /// <summary>Vocabulary size V = |A|.</summary>
    public int Vocab { get; }
    /// <summary>Number of Markov states S.</summary>
    public int States { get; }
    /// <summary>Token-feature dimension d.</summary>
    public int Dimension => Theta.Length;
    /// <summary>θ* (hidden from learners).</summary>
    public double[] Theta { get; }
    /// <summary>Reward noise (applied to the sequence reward).</summary>
    public NoiseModel Noise { get; }
    /// <summary>Prompts with weights and initial states.</summary>
    public IReadOnlyList<AutoregressivePrompt> Prompts { get; }

    /// <summary>T(s,a).</summary>
    public int Next(int state, int token) => _transition[state * Vocab + token];
    /// <summary>log π_ref(a|s) for every token a.</summary>
    public ReadOnlySpan<double> LogRefRow(int state) => new(_logRefProbs, state * Vocab, Vocab);
    /// <summary>ψ(s,a).</summary>
    public ReadOnlySpan<double> TokenFeature(int state, int token) => new(_tokenFeatures, (state * Vocab + token) * Dimension, Dimension);
    /// <summary>⟨θ*, ψ(s,a)⟩ (hidden from learners).</summary>
    public double TokenReward(int state, int token) => _tokenRewards[state * Vocab + token];
    /// <summary>All token rewards, row-major S × V.</summary>
    public ReadOnlySpan<double> TokenRewards => _tokenRewards;
    /// <summary>The transition table, row-major S × V.</summary>
    public ReadOnlySpan<int> Transitions => _transition;
    /// <summary>log π_ref, row-major S × V.</summary>
    public ReadOnlySpan<double> LogRefProbs => _logRefProbs;
    /// <summary>Token features, row-major S × V × d.</summary>
    public ReadOnlySpan<double> TokenFeatures => _tokenFeatures;

    /// <summary>r*(x, a_{1:H}) = Σ_h ⟨θ*, ψ(s_{h−1}, a_h)⟩ for a prompt's token sequence.</summary>
    public double SequenceReward(int prompt, ReadOnlySpan<int> tokens)
    {
        int s = Prompts[prompt].InitialState;
        double r = 0;
        foreach (int a in tokens)
        {
            r += TokenReward(s, a);
            s = Next(s, a);
        }
        return r;
    }

    /// <summary>Sequence-level features φ(x, a_{1:H}) = Σ_h ψ(s_{h−1}, a_h), written to <paramref name="destination"/> (length d).</summary>
    public void SequenceFeatures(int prompt, ReadOnlySpan<int> tokens, Span<double> destination)
    {
        destination.Clear();
        int s = Prompts[prompt].InitialState;
        foreach (int a in tokens)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(destination, TokenFeature(s, a), destination);
            s = Next(s, a);
        }
    }

    /// <summary>
    /// The same problem as an enumerable instance: responses are all V^H token sequences (index = base-V
    /// digits, first token most significant), π_ref(y|x) = Π_h π_ref(a_h|s_{h−1}), features φ = Σ_h ψ.
    /// Only for tiny instances; throws <see cref="InputException"/> above <paramref name="maxResponses"/>.
    /// </summary>
    public EnumerableInstance ToEnumerable(int maxResponses = 1 << 20)
    {
        double count = Math.Pow(Vocab, Horizon);
        if (count > maxResponses)
            throw new InputException($"{Name}: {Vocab}^{Horizon} sequences are too many to enumerate (limit {maxResponses})");
        int n = (int)count, d = Dimension;
        var prompts = new EnumerablePrompt[Prompts.Count];
        var tokens = new int[Horizon];
        for (int x = 0; x < prompts.Length; x++)
        {
            var logProbs = new double[n];
            var features = new double[n * d];
            for (int y = 0; y < n; y++)
            {
                for (int h = Horizon - 1, rest = y; h >= 0; h--, rest /= Vocab) tokens[h] = rest % Vocab;
                int s = Prompts[x].InitialState;
                double lp = 0;
                foreach (int a in tokens)
                {
                    lp += LogRefRow(s)[a];
                    s = Next(s, a);
                }
                logProbs[y] = lp;
                SequenceFeatures(x, tokens, features.AsSpan(y * d, d));
            }
            prompts[x] = new EnumerablePrompt(Prompts[x].Weight, logProbs, features, d, Theta);
        }
        return new EnumerableInstance(Name + " (enumerated)", Beta, Theta, Noise, prompts);
    }

    /// <summary>(min, max) of the sequence reward Σ_h r(s_{h−1}, a_h) over all prompts and token sequences.</summary>
    public (double Min, double Max) RewardRange()
    {
        int S = States, V = Vocab;
        var lo = new double[S];
        var hi = new double[S];
        var lo2 = new double[S];
        var hi2 = new double[S];
        for (int h = Horizon; h >= 1; h--)
        {
            (lo2, lo) = (lo, lo2);
            (hi2, hi) = (hi, hi2);
            for (int s = 0; s < S; s++)
            {
                double mn = double.PositiveInfinity, mx = double.NegativeInfinity;
                for (int a = 0; a < V; a++)
                {
                    double r = TokenReward(s, a);
                    int t = Next(s, a);
                    mn = Math.Min(mn, r + lo2[t]);
                    mx = Math.Max(mx, r + hi2[t]);
                }
                lo[s] = mn;
                hi[s] = mx;
            }
        }
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var p in Prompts)
        {
            min = Math.Min(min, lo[p.InitialState]);
            max = Math.Max(max, hi[p.InitialState]);
        }
        return (min, max);
    }
}
