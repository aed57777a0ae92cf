using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Oracles;

/// <summary>
/// A prefix x∘a_{1:h} as the token oracle built it: the prompt and the tokens the learner paid for. Only an environment
/// can create one (internal constructor), by <see cref="ITokenLearnerEnvironment.Start"/> (the empty prefix of a prompt
/// the learner received) or <see cref="ITokenLearnerEnvironment.Append"/> (a token the oracle issued). What the model
/// needs to continue it (the Markov state, the reward so far) travels inside the handle, hidden from the learner.
/// </summary>
public readonly struct Prefix
{
    internal Prefix(int prompt, int length, int state, double reward, int issuer)
    {
        PromptIndex = prompt;
        Length = length;
        State = state;
        Reward = reward;
        Issuer = issuer;
    }

    /// <summary>The index of the prompt it continues.</summary>
    public int PromptIndex { get; }
    /// <summary>h: tokens in the prefix (0 for the prompt alone).</summary>
    public int Length { get; }
    /// <summary>The model's state after the prefix (hidden from learners).</summary>
    internal int State { get; }
    /// <summary>r* accumulated along the prefix (hidden from learners; only <see cref="ITokenLearnerEnvironment.Query"/> reveals it, noisily, at length H).</summary>
    internal double Reward { get; }
    /// <summary>The environment that issued it (0 for <c>default</c>).</summary>
    internal int Issuer { get; }

    /// <inheritdoc />
    public override string ToString() => $"prefix of {Length} tokens of prompt {PromptIndex}";
}

/// <summary>
/// A next token a ~ π_ref(·|prefix) as the token oracle issued it, with log π_ref(a|prefix). Its features
/// φ_h(prefix, a) are free (<see cref="ITokenLearnerEnvironment.Features"/>); appending it to its prefix is free.
/// </summary>
public readonly struct Token
{
    internal Token(Prefix parent, int id, double logRefProb)
    {
        Parent = parent;
        Id = id;
        LogRefProb = logRefProb;
    }

    /// <summary>The prefix it continues.</summary>
    public Prefix Parent { get; }
    /// <summary>The token id a ∈ [0, V).</summary>
    public int Id { get; }
    /// <summary>log π_ref(a|prefix).</summary>
    public double LogRefProb { get; }

    /// <inheritdoc />
    public override string ToString() => $"token {Id} after {Parent}";
}

/// <summary>
/// The token-level learner's view of an autoregressive model (docs/FRAMEWORK.md, token oracle): prompts x ~ ρ (free),
/// next-token draws a ~ π_ref(·|prefix) (one T_tokens each), optionally the whole next-token distribution (one T_tokens,
/// as one forward pass of a language model returns it), free token features φ_h(prefix, a) ∈ R^D of issued tokens, and
/// the reward of a complete response x∘a_{1:H} (one T_data). Handles are stamped by the environment that issued them;
/// any other is refused, so an algorithm sees only the tokens it paid for.
/// </summary>
public interface ITokenLearnerEnvironment
{
    /// <summary>The meter every call is charged to.</summary>
    Meter Meter { get; }
    /// <summary>β (known to the learner).</summary>
    double Beta { get; }
    /// <summary>Horizon H (tokens per response).</summary>
    int Horizon { get; }
    /// <summary>Vocabulary size V.</summary>
    int Vocab { get; }
    /// <summary>Token-feature dimension D.</summary>
    int Dimension { get; }
    /// <summary>Whether <see cref="NextDistribution"/> is offered (a knob of the oracle).</summary>
    bool OffersDistributions { get; }

    /// <summary>Draws a prompt x ~ ρ (free).</summary>
    Prompt DrawPrompt(Rng rng);
    /// <summary>The empty prefix of a received prompt (free).</summary>
    Prefix Start(Prompt prompt);
    /// <summary>Draws a ~ π_ref(·|prefix) (one T_tokens). The prefix must be shorter than H.</summary>
    Token Next(Prefix prefix, Rng rng);
    /// <summary>Every token with its log π_ref(a|prefix), written to <paramref name="destination"/> (length V), for one
    /// T_tokens. Throws <see cref="NotSupportedException"/> unless <see cref="OffersDistributions"/>.</summary>
    void NextDistribution(Prefix prefix, Span<Token> destination);
    /// <summary>prefix∘a for an issued token (free).</summary>
    Prefix Append(Token token);
    /// <summary>φ_h(prefix, a) of an issued token (free). The span stays valid, unchanged, for the environment's lifetime.</summary>
    ReadOnlySpan<double> Features(Token token);
    /// <summary>A noisy reward r*(x, a_{1:H}) + ξ of a complete prefix (one T_data).</summary>
    double Query(Prefix complete);
}

/// <summary>
/// The token-level features of an autoregressive instance: φ_h(s, a) = [ψ(s,a), e_{T(s,a)}] ∈ R^{d+S}. With them the soft
/// Q-function is exactly linear — Q_h(s,a) = ⟨θ*, ψ(s,a)⟩ + V_h(T(s,a)) = ⟨[θ*, V_h(·)], φ(s,a)⟩ — which is the
/// autoregressive realizability MTSS relies on (docs/FRAMEWORK.md).
/// </summary>
public static class TokenFeatures
{
    /// <summary>Largest S·V·(d+S) the dense table may hold.</summary>
    public const double MaxNumbers = 1e7;

    /// <summary>D = d + S.</summary>
    public static int Dimension(AutoregressiveInstance inst) => inst.Dimension + inst.States;

    /// <summary>The table φ(s,a), row-major S × V × D. Throws <see cref="InputException"/> when it would be too large.</summary>
    public static double[] Build(AutoregressiveInstance inst)
    {
        int S = inst.States, V = inst.Vocab, d = inst.Dimension, D = d + S;
        if ((double)S * V * D > MaxNumbers)
            throw new InputException($"{inst.Name}: token-level features need states × vocab × (d + states) = {(double)S * V * D:G3} numbers (max {MaxNumbers:G3})");
        var table = new double[S * V * D];
        for (int s = 0; s < S; s++)
            for (int a = 0; a < V; a++)
            {
                var row = table.AsSpan((s * V + a) * D, D);
                inst.TokenFeature(s, a).CopyTo(row);
                row[d + inst.Next(s, a)] = 1;
            }
        return table;
    }
}

/// <summary>
/// The token oracle of an <see cref="AutoregressiveInstance"/>: next-token draws by alias tables (one T_tokens each), the
/// whole next-token distribution when <c>offerDistributions</c> (one T_tokens), features [ψ, e_T] and sequence rewards
/// with the instance's noise (one T_data). θ*, the Markov state and the reward so far stay inside the handles.
/// </summary>
public sealed class AutoregressiveTokenEnvironment : ITokenLearnerEnvironment
{
    private readonly AutoregressiveInstance _instance;
    private readonly Rng _noiseRng;
    private readonly AliasTable[] _refSamplers;
    private readonly AliasTable _promptSampler;
    private readonly double[] _features;
    private readonly int _issuer = Issuers.Next();

    /// <summary>Creates the oracle; reward noise is drawn from <paramref name="noiseRng"/>.</summary>
    public AutoregressiveTokenEnvironment(AutoregressiveInstance instance, Meter meter, Rng noiseRng, bool offerDistributions = false)
    {
        _instance = instance;
        Meter = meter;
        _noiseRng = noiseRng;
        OffersDistributions = offerDistributions;
        _refSamplers = new AliasTable[instance.States];
        for (int s = 0; s < instance.States; s++) _refSamplers[s] = new AliasTable(instance.LogRefRow(s));
        _promptSampler = new AliasTable(instance.Prompts.Select(p => Math.Log(p.Weight)).ToArray());
        _features = TokenFeatures.Build(instance);
        Dimension = TokenFeatures.Dimension(instance);
    }

    /// <inheritdoc />
    public Meter Meter { get; }
    /// <inheritdoc />
    public double Beta => _instance.Beta;
    /// <inheritdoc />
    public int Horizon => _instance.Horizon;
    /// <inheritdoc />
    public int Vocab => _instance.Vocab;
    /// <inheritdoc />
    public int Dimension { get; }
    /// <inheritdoc />
    public bool OffersDistributions { get; }

    /// <inheritdoc />
    public Prompt DrawPrompt(Rng rng) => new(_promptSampler.Sample(rng), _issuer);

    /// <inheritdoc />
    public Prefix Start(Prompt prompt)
    {
        if (prompt.Issuer != _issuer)
            throw new ForeignHandleException(prompt.Issuer == 0
                ? "the oracle was asked about a prompt the learner has not received (default(Prompt))"
                : $"the oracle was asked about {prompt}, which was issued by another environment");
        return new Prefix(prompt.Index, 0, _instance.Prompts[prompt.Index].InitialState, 0, _issuer);
    }

    /// <inheritdoc />
    public Token Next(Prefix prefix, Rng rng)
    {
        CheckOpen(prefix);
        Meter.ChargeTokens();
        int a = _refSamplers[prefix.State].Sample(rng);
        return new Token(prefix, a, _instance.LogRefRow(prefix.State)[a]);
    }

    /// <inheritdoc />
    public void NextDistribution(Prefix prefix, Span<Token> destination)
    {
        if (!OffersDistributions) throw new NotSupportedException("this token oracle does not offer next-token distributions");
        CheckOpen(prefix);
        if (destination.Length != Vocab) throw new ArgumentException("destination must hold V tokens", nameof(destination));
        Meter.ChargeTokens();
        var row = _instance.LogRefRow(prefix.State);
        for (int a = 0; a < row.Length; a++) destination[a] = new Token(prefix, a, row[a]);
    }

    /// <inheritdoc />
    public Prefix Append(Token token)
    {
        var p = token.Parent;
        Check(p);
        return new Prefix(p.PromptIndex, p.Length + 1, _instance.Next(p.State, token.Id), p.Reward + _instance.TokenReward(p.State, token.Id), _issuer);
    }

    /// <inheritdoc />
    public ReadOnlySpan<double> Features(Token token)
    {
        Check(token.Parent);
        int D = Dimension;
        return new ReadOnlySpan<double>(_features, (token.Parent.State * Vocab + token.Id) * D, D);
    }

    /// <inheritdoc />
    public double Query(Prefix complete)
    {
        Check(complete);
        if (complete.Length != Horizon) throw new InvalidOperationException($"a reward needs a complete response of {Horizon} tokens, got {complete}");
        Meter.ChargeData();
        double r = complete.Reward;
        return _instance.Noise.Kind switch
        {
            NoiseKind.None => r,
            NoiseKind.Gaussian => r + _instance.Noise.Sigma * _noiseRng.NextGaussian(),
            NoiseKind.Bernoulli => _noiseRng.NextDouble() < r ? 1.0 : 0.0,
            _ => throw new InvalidOperationException("unknown noise kind"),
        };
    }

    private void CheckOpen(Prefix prefix)
    {
        Check(prefix);
        if (prefix.Length >= Horizon) throw new InvalidOperationException($"{prefix} is already complete (H = {Horizon})");
    }

    private void Check(Prefix prefix)
    {
        if (prefix.Issuer != _issuer)
            throw new ForeignHandleException(prefix.Issuer == 0
                ? "the oracle was asked about a prefix it did not issue (default(Prefix))"
                : $"the oracle was asked about {prefix}, which was issued by another environment");
    }
}

/// <summary>
/// The sequence-level view of an autoregressive model for sequence-level algorithms (SpannerSampling, …): a sequence
/// sample is H next-token calls, so every <see cref="Sample"/> charges H to T_tokens besides its one T_comp, and
/// enumerating Y(x) charges H·|Y(x)|. It wraps the enumerable form of the instance (V^H sequences, φ = Σ_h ψ), so its
/// output is evaluated exactly by the enumerable evaluator.
/// </summary>
public sealed class SequenceLevelEnvironment(ILearnerEnvironment inner, int horizon) : ILearnerEnvironment
{
    /// <inheritdoc />
    public Meter Meter => inner.Meter;
    /// <inheritdoc />
    public double Beta => inner.Beta;
    /// <inheritdoc />
    public int Dimension => inner.Dimension;
    /// <inheritdoc />
    public bool CanEnumerate => inner.CanEnumerate;
    /// <summary>H: tokens per sequence sample.</summary>
    public int Horizon => horizon;

    /// <inheritdoc />
    public Prompt DrawPrompt(Rng rng) => inner.DrawPrompt(rng);

    /// <inheritdoc />
    public Response Sample(Prompt prompt, Rng rng)
    {
        Meter.ChargeTokens(horizon);
        return inner.Sample(prompt, rng);
    }

    /// <inheritdoc />
    public ReadOnlySpan<double> Features(Response response) => inner.Features(response);

    /// <inheritdoc />
    public double Query(Response response) => inner.Query(response);

    /// <inheritdoc />
    public Response[] Enumerate(Prompt prompt)
    {
        var all = inner.Enumerate(prompt);
        Meter.ChargeTokens((long)all.Length * horizon);
        return all;
    }
}
