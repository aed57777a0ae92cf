using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Text;

/// <summary>
/// The learner's metered view of a language model on a text task — the "model environment": DrawPrompt draws x ~ ρ;
/// Sample draws a response from the model (one T_comp per sequence, whatever its length; the tokens generated are
/// counted in <see cref="TextResponses.TokensGenerated"/>) and returns it with log π_ref(y|x); Features computes φ(x,y)
/// of an issued response (free, cached); Query asks the verifier (one T_data — charged only once the verifier answered,
/// so T_data equals the verifier's own count of answered calls). Y is not enumerable. Handles are issued against a
/// table of distinct responses (<see cref="TextResponses"/>): the same (prompt, tokens, ended) is the same handle index.
/// </summary>
public sealed class TextEnvironment : ILearnerEnvironment, IPromptSet
{
    /// <summary>The run's own view: a verifier or feature-command fault is reported with the T_data spent so far.</summary>
    public const bool Training = true;
    /// <summary>The evaluation's view: a fault is reported as the evaluation's.</summary>
    public const bool Evaluation = false;

    private readonly TextResponses _store;
    private readonly IVerifier _verifier;
    private readonly bool _training;

    /// <summary>A view of <paramref name="store"/> charging <paramref name="meter"/> and asking <paramref name="verifier"/>;
    /// <paramref name="training"/> (<see cref="Training"/> or <see cref="Evaluation"/>) says whose calls these are, for the
    /// one-line error a failing verifier or feature command becomes.</summary>
    public TextEnvironment(TextResponses store, Meter meter, IVerifier verifier, bool training)
    {
        _store = store;
        Meter = meter;
        _verifier = verifier;
        _training = training;
    }

    /// <summary>The shared response table.</summary>
    public TextResponses Store => _store;
    /// <summary>The verifier this view asks.</summary>
    public IVerifier Verifier => _verifier;
    /// <inheritdoc />
    public Meter Meter { get; }
    /// <inheritdoc />
    public double Beta => _store.Beta;
    /// <inheritdoc />
    public int Dimension => _store.Features.Dimension;
    /// <inheritdoc />
    public bool CanEnumerate => false;
    /// <inheritdoc />
    public int PromptCount => _store.Task.Prompts.Count;

    /// <inheritdoc />
    public Prompt PromptAt(int index)
    {
        if ((uint)index >= (uint)PromptCount) throw new ArgumentOutOfRangeException(nameof(index));
        return new Prompt(index, _store.Issuer);
    }

    /// <inheritdoc />
    public Prompt DrawPrompt(Rng rng) => new(_store.PromptSampler.Sample(rng), _store.Issuer);

    /// <inheritdoc />
    public Response Sample(Prompt prompt, Rng rng)
    {
        _store.Check(prompt);
        Meter.ChargeComp();
        try
        {
            return _store.Draw(prompt.Index, rng); // a feature command computes φ of a new response here
        }
        catch (VerifierException e)
        {
            throw Fault(e);
        }
    }

    /// <inheritdoc />
    public ReadOnlySpan<double> Features(Response response)
    {
        _store.Check(response);
        return _store.FeaturesOf(response.Index);
    }

    /// <inheritdoc />
    public double Query(Response response)
    {
        _store.Check(response);
        if (Meter.RemainingData < 1) throw new BudgetExhaustedException(BudgetKind.Data);
        double r;
        try
        {
            r = _verifier.Score(_store.Task.Prompts[response.PromptIndex].Text, _store.TextOf(response.Index));
        }
        catch (VerifierException e)
        {
            throw Fault(e);
        }
        Meter.ChargeData();
        return r;
    }

    /// <summary>A verifier or feature-command fault as bad input: the user's command failed, not the run.</summary>
    private InputException Fault(VerifierException e) =>
        new(_training ? e.Message + $" [T_data = {Meter.TData}]" : "evaluation: " + e.Message);

    /// <inheritdoc />
    public Response[] Enumerate(Prompt prompt) =>
        throw new NotSupportedException("a language model's responses cannot be enumerated (Y = token sequences)");
}

/// <summary>
/// The table of distinct responses a language model produced on a task, shared by the run's environment and the
/// evaluation's (so an output policy's handles stay valid in both): tokens, decoded text, log π_ref and φ, stored once.
/// </summary>
public sealed class TextResponses
{
    private readonly ILanguageModel _model;
    private readonly int[][] _promptTokens;
    private readonly Dictionary<string, int> _byKey = new(StringComparer.Ordinal);
    private readonly List<Entry> _entries = [];
    private readonly System.Text.StringBuilder _key = new();

    private sealed record Entry(int Prompt, int[] Tokens, bool Ended, double LogProb, string Text, double[] Features);

    /// <summary>Creates the table; encodes every prompt (an unencodable prompt is an <see cref="InputException"/>).</summary>
    public TextResponses(TextTask task, ILanguageModel model, ITextFeatures features, double beta, int maxTokens)
    {
        if (!(beta > 0) || !double.IsFinite(beta)) throw new InputException($"beta must be positive and finite, got {beta}");
        if (maxTokens < 1 || maxTokens > 4096) throw new InputException($"max-tokens must be in 1..4096, got {maxTokens}");
        Task = task;
        _model = model;
        Features = features;
        Beta = beta;
        MaxTokens = maxTokens;
        _promptTokens = task.Prompts.Select(p => model.Encode(p.Text)).ToArray();
        PromptSampler = new AliasTable(task.Prompts.Select(p => Math.Log(p.Weight)).ToArray());
    }

    /// <summary>The task.</summary>
    public TextTask Task { get; }
    /// <summary>The base model.</summary>
    public ILanguageModel Model => _model;
    /// <summary>The feature map.</summary>
    public ITextFeatures Features { get; }
    /// <summary>β.</summary>
    public double Beta { get; }
    /// <summary>Token limit per response.</summary>
    public int MaxTokens { get; }
    /// <summary>ρ.</summary>
    public AliasTable PromptSampler { get; }
    /// <summary>Stamp of the handles this table issues.</summary>
    public int Issuer { get; } = Issuers.Next();
    /// <summary>Tokens generated by all sequence samples (EOS included).</summary>
    public long TokensGenerated { get; private set; }
    /// <summary>Distinct responses stored.</summary>
    public int Count => _entries.Count;

    /// <summary>Samples a response to prompt <paramref name="prompt"/> and returns its handle.</summary>
    internal Response Draw(int prompt, Rng rng)
    {
        var s = _model.SampleOne(_promptTokens[prompt], MaxTokens, rng);
        TokensGenerated += s.Tokens.Length + (s.Ended ? 1 : 0);
        // Keyed by tokens and end, not by text: distinct token sequences may decode to the same text (byte pieces).
        _key.Clear().Append(prompt).Append(s.Ended ? '|' : '~');
        foreach (int t in s.Tokens) _key.Append(t).Append(',');
        string key = _key.ToString();
        if (!_byKey.TryGetValue(key, out int index))
        {
            index = _entries.Count;
            var phi = new double[Features.Dimension];
            Features.Compute(Task.Prompts[prompt].Text, s.Text, phi);
            _entries.Add(new Entry(prompt, s.Tokens, s.Ended, s.LogProb, s.Text, phi));
            _byKey[key] = index;
        }
        return new Response(prompt, index, Issuer, _entries[index].LogProb);
    }

    /// <summary>The decoded text of response <paramref name="index"/>.</summary>
    public string TextOf(int index) => _entries[index].Text;
    /// <summary>The tokens of response <paramref name="index"/>.</summary>
    public IReadOnlyList<int> TokensOf(int index) => _entries[index].Tokens;
    /// <summary>φ of response <paramref name="index"/>.</summary>
    internal ReadOnlySpan<double> FeaturesOf(int index) => _entries[index].Features;

    internal void Check(Prompt prompt)
    {
        if (prompt.Issuer != Issuer)
            throw new ForeignHandleException(prompt.Issuer == 0
                ? "the oracle was asked about a prompt the learner has not received (default(Prompt))"
                : $"the oracle was asked about {prompt}, which was issued by another environment");
    }

    internal void Check(Response response)
    {
        if (response.Issuer != Issuer)
            throw new ForeignHandleException(response.Issuer == 0
                ? "the oracle was asked about a response it did not issue (default(Response))"
                : $"the oracle was asked about {response}, which was issued by another environment");
    }
}
