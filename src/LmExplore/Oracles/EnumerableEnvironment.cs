using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Oracles;

/// <summary>
/// A learner's metered view of an <see cref="EnumerableInstance"/>: prompts, the sampling oracle
/// (T_comp), the reward oracle with the instance's noise (T_data) and the free feature map.
/// Responses are indices into the prompt's response list. The hidden θ* and rewards are not exposed.
/// </summary>
public sealed class EnumerableEnvironment : IPromptSource, ISamplingOracle<int>, IRewardOracle<int>, IFeatureMap<int>
{
    private readonly EnumerableInstance _instance;
    private readonly Rng _noiseRng;
    private readonly bool[] _received;
    private readonly AliasTable[] _refSamplers; // π_ref(·|x) per prompt, as an array: the sampling hot path avoids an interface call

    /// <summary>Creates the view; reward noise is drawn from <paramref name="noiseRng"/>.</summary>
    public EnumerableEnvironment(EnumerableInstance instance, Meter meter, Rng noiseRng)
    {
        _instance = instance;
        Meter = meter;
        _noiseRng = noiseRng;
        _received = new bool[instance.Prompts.Count];
        _refSamplers = instance.Prompts.Select(p => p.RefSampler).ToArray();
    }

    /// <summary>The meter every call is charged to.</summary>
    public Meter Meter { get; }
    /// <summary>β (known to the learner).</summary>
    public double Beta => _instance.Beta;
    /// <summary>d.</summary>
    public int Dimension => _instance.Dimension;
    /// <summary>Number of prompts (the support of ρ).</summary>
    public int PromptCount => _instance.Prompts.Count;
    /// <summary>|Y(x)| — known to the learner, but enumerating it costs |Y| samples (see <see cref="ChargeEnumeration"/>).</summary>
    public int ResponseCount(int prompt) => _instance.Prompts[prompt].ResponseCount;

    /// <inheritdoc />
    public int DrawPrompt(Rng rng)
    {
        int x = _instance.PromptSampler.Sample(rng);
        _received[x] = true;
        return x;
    }

    /// <inheritdoc />
    public int Sample(int prompt, Rng rng)
    {
        EnsureReceived(prompt);
        Meter.ChargeComp();
        return _refSamplers[prompt].Sample(rng);
    }

    /// <summary>Draws <paramref name="destination"/>.Length samples, charged as that many oracle calls up front.</summary>
    public void Sample(int prompt, Rng rng, Span<int> destination)
    {
        EnsureReceived(prompt);
        Meter.ChargeComp(destination.Length);
        var table = _refSamplers[prompt];
        for (int i = 0; i < destination.Length; i++) destination[i] = table.Sample(rng);
    }

    /// <inheritdoc />
    public double LogProb(int prompt, int response) => _instance.Prompts[prompt].LogRefProbs[response];

    /// <summary>Charges |Y(x)| sampling-oracle calls for a method that enumerates all responses of a prompt.</summary>
    public void ChargeEnumeration(int prompt)
    {
        EnsureReceived(prompt);
        Meter.ChargeComp(ResponseCount(prompt));
    }

    /// <inheritdoc />
    public double Query(int prompt, int response)
    {
        EnsureReceived(prompt);
        Meter.ChargeData();
        double r = _instance.Prompts[prompt].Rewards[response];
        return _instance.Noise.Kind switch
        {
            NoiseKind.None => r,
            NoiseKind.Gaussian => r + _instance.Noise.Sigma * _noiseRng.NextGaussian(),
            NoiseKind.Bernoulli => _noiseRng.NextDouble() < r ? 1.0 : 0.0,
            _ => throw new InvalidOperationException("unknown noise kind"),
        };
    }

    /// <inheritdoc />
    public void Features(int prompt, int response, Span<double> destination) =>
        _instance.Prompts[prompt].FeatureRow(response).CopyTo(destination);

    /// <summary>φ(x,y) without a copy.</summary>
    public ReadOnlySpan<double> FeatureRow(int prompt, int response) => _instance.Prompts[prompt].FeatureRow(response);

    private void EnsureReceived(int prompt)
    {
        if ((uint)prompt >= (uint)_received.Length || !_received[prompt])
            throw new InvalidOperationException($"the oracle was asked about prompt {prompt}, which the learner has not received");
    }
}
