using LmExplore.Numerics;

namespace LmExplore.Instances;

/// <summary>
/// One prompt of an enumerable instance: its weight ρ(x), π_ref(·|x) as log-probabilities, the
/// features φ(x,y) stored contiguously (row-major, N × d) and the true rewards r*(x,y) = ⟨θ*, φ(x,y)⟩.
/// </summary>
public sealed class EnumerablePrompt
{
    private readonly double[] _features;

    /// <summary>Creates a prompt. <paramref name="features"/> is row-major N × d and is not copied.</summary>
    public EnumerablePrompt(double weight, double[] logRefProbs, double[] features, int dimension, ReadOnlySpan<double> theta, string?[]? texts = null)
    {
        if (features.Length != logRefProbs.Length * dimension)
            throw new ArgumentException($"features has {features.Length} numbers, expected {logRefProbs.Length} × {dimension}");
        Weight = weight;
        LogRefProbs = logRefProbs;
        _features = features;
        Dimension = dimension;
        Texts = texts;
        Rewards = new double[logRefProbs.Length];
        for (int y = 0; y < Rewards.Length; y++)
            Rewards[y] = System.Numerics.Tensors.TensorPrimitives.Dot(FeatureRow(y), theta);
        RefSampler = new AliasTable(logRefProbs);
        LogRefMass = LogMath.LogSumExp(logRefProbs);
    }

    /// <summary>ρ(x).</summary>
    public double Weight { get; }
    /// <summary>Number of responses N = |Y(x)|.</summary>
    public int ResponseCount => LogRefProbs.Length;
    /// <summary>Feature dimension d.</summary>
    public int Dimension { get; }
    /// <summary>log π_ref(y|x) for every y.</summary>
    public double[] LogRefProbs { get; }
    /// <summary>log Σ_y π_ref(y|x): 0 up to the input tolerance (files may sum to 1 ± 1e-9). The sampler draws
    /// ∝ π_ref, so exact evaluation divides by this mass to describe what is actually sampled.</summary>
    public double LogRefMass { get; }
    /// <summary>r*(x,y) = ⟨θ*, φ(x,y)⟩ for every y (hidden from learners; used by oracles and evaluation).</summary>
    public double[] Rewards { get; }
    /// <summary>Optional response texts (null entries allowed).</summary>
    public string?[]? Texts { get; }
    /// <summary>What enumerating Y(x) costs in sampling-oracle calls: |Y(x)| unless the responses stand for classes of
    /// equivalent underlying responses (the <c>dnf</c> family collapses the 2ⁿ assignments to their distinct feature
    /// patterns, but enumerating Y = {0,1}ⁿ still visits all 2ⁿ). At least <see cref="ResponseCount"/>.</summary>
    public long EnumerationCost
    {
        get => _enumerationCost ?? ResponseCount;
        init => _enumerationCost = value >= ResponseCount ? value
            : throw new ArgumentOutOfRangeException(nameof(value), $"enumeration cost {value} is below the {ResponseCount} responses");
    }
    private readonly long? _enumerationCost;
    /// <summary>Alias table for y ~ π_ref(·|x).</summary>
    public AliasTable RefSampler { get; }
    /// <summary>All features, row-major N × d.</summary>
    public ReadOnlySpan<double> FeatureMatrix => _features;
    /// <summary>The features' backing array (the oracle's hot path reads rows from it without an interface call).</summary>
    internal double[] FeatureArray => _features;
    /// <summary>φ(x,y).</summary>
    public ReadOnlySpan<double> FeatureRow(int y) => new(_features, y * Dimension, Dimension);
}

/// <summary>
/// An instance with finitely many prompts and finitely many responses per prompt: everything
/// (J_β, π*, C_cov) is computed exactly by enumeration. Learners never see it directly — they see it
/// through the metered oracles of <see cref="LmExplore.Oracles.EnumerableEnvironment"/>.
/// </summary>
public sealed class EnumerableInstance
{
    /// <summary>Creates an instance; validation of user input happens in the JSON reader and generators.</summary>
    public EnumerableInstance(string name, double beta, double[] theta, NoiseModel noise, IReadOnlyList<EnumerablePrompt> prompts)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta), "beta must be a positive finite number");
        if (prompts.Count == 0) throw new ArgumentException("an instance needs at least one prompt");
        Name = name;
        Beta = beta;
        Theta = theta;
        Noise = noise;
        Prompts = prompts;
        var logW = new double[prompts.Count];
        for (int i = 0; i < logW.Length; i++)
        {
            if (prompts[i].Dimension != theta.Length) throw new ArgumentException($"prompt {i} has dimension {prompts[i].Dimension}, theta has {theta.Length}");
            logW[i] = prompts[i].Weight > 0 ? Math.Log(prompts[i].Weight) : double.NegativeInfinity;
        }
        PromptSampler = new AliasTable(logW);
    }

    /// <summary>A short description (family and parameters, or the file name).</summary>
    public string Name { get; }
    /// <summary>KL-regularization strength β.</summary>
    public double Beta { get; }
    /// <summary>Feature dimension d.</summary>
    public int Dimension => Theta.Length;
    /// <summary>θ* (hidden from learners).</summary>
    public double[] Theta { get; }
    /// <summary>Reward noise.</summary>
    public NoiseModel Noise { get; }
    /// <summary>The prompts with their weights ρ(x).</summary>
    public IReadOnlyList<EnumerablePrompt> Prompts { get; }
    /// <summary>Alias table for x ~ ρ.</summary>
    public AliasTable PromptSampler { get; }

    /// <summary>Largest response count over prompts.</summary>
    public int MaxResponses => Prompts.Max(p => p.ResponseCount);
    /// <summary>Total number of responses Σ_x |Y(x)|.</summary>
    public long TotalResponses => Prompts.Sum(p => (long)p.ResponseCount);
    /// <summary>R_max = max |r*(x,y)| over prompts with ρ(x) &gt; 0.</summary>
    public double RMax => Prompts.Where(p => p.Weight > 0).Max(p => p.Rewards.Max(Math.Abs));
}
