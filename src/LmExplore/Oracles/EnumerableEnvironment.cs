using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Oracles;

/// <summary>
/// A learner's metered view of an <see cref="EnumerableInstance"/>: prompts, the sampling oracle (T_comp), the
/// reward oracle with the instance's noise (T_data), features of issued responses, and enumeration of Y(x) at
/// |Y(x)| T_comp. Every handle it accepts must carry its own stamp, so an algorithm cannot ask about a response
/// it did not sample or a prompt it did not receive. The instance (θ*, rewards, unsampled responses) stays hidden.
/// </summary>
public sealed class EnumerableEnvironment : ILearnerEnvironment
{
    private readonly EnumerableInstance _instance;
    private readonly Rng _noiseRng;
    private readonly double[][] _features;      // per prompt, row-major N × d: Features() skips the prompt list's interface call
    private readonly int _dimension;
    private readonly AliasTable[] _refSamplers; // π_ref(·|x) per prompt, as an array: the sampling hot path avoids a list lookup
    private readonly double[][] _logRef;
    private readonly int _issuer = Issuers.Next();

    /// <summary>Creates the view; reward noise is drawn from <paramref name="noiseRng"/>.</summary>
    public EnumerableEnvironment(EnumerableInstance instance, Meter meter, Rng noiseRng)
    {
        _instance = instance;
        Meter = meter;
        _noiseRng = noiseRng;
        _refSamplers = instance.Prompts.Select(p => p.RefSampler).ToArray();
        _features = instance.Prompts.Select(p => p.FeatureArray).ToArray();
        _dimension = instance.Dimension;
        _logRef = instance.Prompts.Select(p => p.LogRefProbs).ToArray();
    }

    /// <inheritdoc />
    public Meter Meter { get; }
    /// <inheritdoc />
    public double Beta => _instance.Beta;
    /// <inheritdoc />
    public int Dimension => _instance.Dimension;
    /// <inheritdoc />
    public bool CanEnumerate => true;

    /// <inheritdoc />
    public Prompt DrawPrompt(Rng rng) => new(_instance.PromptSampler.Sample(rng), _issuer);

    /// <inheritdoc />
    public Response Sample(Prompt prompt, Rng rng)
    {
        Check(prompt);
        Meter.ChargeComp();
        int x = prompt.Index;
        int y = _refSamplers[x].Sample(rng);
        return new Response(x, y, _issuer, _logRef[x][y]);
    }

    /// <inheritdoc />
    [System.Runtime.CompilerServices.SkipLocalsInit] // the stack buffer is written before it is read
    public void SampleMany(Prompt prompt, Rng rng, Span<Response> destination)
    {
        Check(prompt);
        Meter.ChargeComp(destination.Length);
        int x = prompt.Index;
        var logRef = _logRef[x];
        Span<int> ys = stackalloc int[64];
        while (destination.Length > 0)
        {
            var chunk = ys[..Math.Min(ys.Length, destination.Length)];
            _refSamplers[x].SampleMany(rng, chunk);
            for (int i = 0; i < chunk.Length; i++) destination[i] = new Response(x, chunk[i], _issuer, logRef[chunk[i]]);
            destination = destination[chunk.Length..];
        }
    }

    /// <inheritdoc />
    public Response[] Enumerate(Prompt prompt)
    {
        Check(prompt);
        int x = prompt.Index;
        var logRef = _logRef[x];
        Meter.ChargeComp(_instance.Prompts[x].EnumerationCost);
        var all = new Response[logRef.Length];
        for (int y = 0; y < all.Length; y++) all[y] = new Response(x, y, _issuer, logRef[y]);
        return all;
    }

    /// <inheritdoc />
    public double Query(Response response)
    {
        Check(response);
        Meter.ChargeData();
        double r = _instance.Prompts[response.PromptIndex].Rewards[response.Index];
        return _instance.Noise.Kind switch
        {
            NoiseKind.None => r,
            NoiseKind.Gaussian => r + _instance.Noise.Sigma * _noiseRng.NextGaussian(),
            NoiseKind.Bernoulli => _noiseRng.NextDouble() < r ? 1.0 : 0.0,
            _ => throw new InvalidOperationException("unknown noise kind"),
        };
    }

    /// <inheritdoc />
    public ReadOnlySpan<double> Features(Response response)
    {
        Check(response);
        return new ReadOnlySpan<double>(_features[response.PromptIndex], response.Index * _dimension, _dimension);
    }

    private void Check(Prompt prompt)
    {
        if (prompt.Issuer != _issuer)
            throw new ForeignHandleException(prompt.Issuer == 0
                ? "the oracle was asked about a prompt the learner has not received (default(Prompt))"
                : $"the oracle was asked about {prompt}, which was issued by another environment");
    }

    private void Check(Response response)
    {
        if (response.Issuer != _issuer) ThrowForeign(response);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ThrowForeign(Response response) =>
        throw new ForeignHandleException(response.Issuer == 0
            ? "the oracle was asked about a response it did not issue (default(Response))"
            : $"the oracle was asked about {response}, which was issued by another environment");
}

/// <summary>Thrown when an algorithm hands an oracle a prompt or response handle that oracle did not issue.</summary>
public sealed class ForeignHandleException(string message) : InvalidOperationException(message);
