using LmExplore.Numerics;

namespace LmExplore.LanguageModels;

/// <summary>
/// The one interface every kind of base model implements, shaped like real engines (llama.cpp, an OpenAI-compatible
/// server such as vLLM): a tokenizer, and the <b>sampler</b> — a batch of complete responses to a prompt, each with its
/// text, its end reason and the exact log π_ref of the draw — plus, where the model can, the <b>score</b> of a given
/// response. Everything else is an optional capability a model offers through a nullable property (never found by
/// testing the model's type): next-token distributions (<see cref="NextTokens"/>) and embeddings
/// (<see cref="Embedder"/>). Algorithms only ever see sampled responses with their log-probabilities, so this is all
/// a run needs; a feature map or an exact evaluator that needs more asks for its capability and fails in one line
/// when the model does not offer it. Implementations: <see cref="NGramModel"/> and <see cref="GgufModel"/> (both
/// through <see cref="AutoregressiveLanguageModel"/>); models are opened by <see cref="ModelCatalog.Open"/>.
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>The model kind, as <see cref="ModelCatalog"/> names it ("ngram", "gguf", …).</summary>
    string Kind { get; }

    /// <summary>Token ids of <paramref name="text"/> (no BOS/EOS). Throws a one-line <see cref="InputException"/> on text
    /// the vocabulary cannot encode.</summary>
    int[] Encode(string text);

    /// <summary>The text of a token sequence (EOS omitted).</summary>
    string Decode(ReadOnlySpan<int> tokens);

    /// <summary>
    /// Draws <c>destination.Length</c> responses to <paramref name="prompt"/>, each of at most <paramref name="maxTokens"/>
    /// tokens, one after another in order, so that a batch of n equals n single draws from the same <paramref name="rng"/>.
    /// Every sample carries its tokens, text, end reason and the exact log π_ref of the draw. The randomness comes from
    /// <paramref name="rng"/> (a model that samples elsewhere derives the engine's seed from it), so a seed fixes the draws.
    /// </summary>
    void Sample(ReadOnlySpan<int> prompt, int maxTokens, Rng rng, Span<SampledSequence> destination);

    /// <summary>Whether <see cref="Score"/> is available.</summary>
    bool CanScore { get; }

    /// <summary>
    /// log π_ref(response|prompt) under the process of <see cref="Sample"/>: the response's tokens, plus EOS when
    /// <paramref name="end"/> is <see cref="EndReason.Stop"/> (a response ended by the limit is taken as cut there,
    /// which is deterministic). A model that cannot score (<see cref="CanScore"/> false) throws a one-line
    /// <see cref="InputException"/> naming the missing capability.
    /// </summary>
    double Score(ReadOnlySpan<int> prompt, ReadOnlySpan<int> response, EndReason end);

    /// <summary>The exact next-token distributions, or null when the model does not expose them (a served model).</summary>
    INextTokenModel? NextTokens { get; }

    /// <summary>Text embeddings, or null when the model does not offer them.</summary>
    ITextEmbedder? Embedder { get; }
}

/// <summary>Why a sampled response ended (an OpenAI-compatible server's <c>finish_reason</c>).</summary>
public enum EndReason
{
    /// <summary>The model drew its end-of-sequence token ("stop").</summary>
    Stop,
    /// <summary>The response was cut at the token limit ("length").</summary>
    Length,
}

/// <summary>A sampled response: its tokens (EOS excluded), its text, why it ended, and log π_ref of the whole draw.</summary>
/// <param name="Tokens">Response tokens, EOS excluded.</param>
/// <param name="Text">The decoded text of <paramref name="Tokens"/>.</param>
/// <param name="End">Whether the model stopped (EOS drawn) or the response was cut at the token limit.</param>
/// <param name="LogProb">Σ log π_ref(a_h|x, a_{&lt;h}) over the drawn tokens (EOS included when drawn). Cutting at the limit is
/// deterministic, so this is the exact log-probability of the returned draw.</param>
public sealed record SampledSequence(int[] Tokens, string Text, EndReason End, double LogProb)
{
    /// <summary>True if EOS was drawn; false if the response was cut at the token limit.</summary>
    public bool Ended => End == EndReason.Stop;
}

/// <summary>The next-token capability: the exact distribution log π_ref(·|context) over a known vocabulary.</summary>
public interface INextTokenModel
{
    /// <summary>Number of tokens a next-token distribution ranges over.</summary>
    int VocabSize { get; }

    /// <summary>The end-of-sequence token: sampling a response stops when it is drawn.</summary>
    int Eos { get; }

    /// <summary>Writes log π_ref(a|context) for every token a into <paramref name="logProbs"/> (length <see cref="VocabSize"/>),
    /// exactly normalised: logsumexp = 0. The context is the prompt's tokens followed by the response so far.</summary>
    void NextTokenLogProbs(ReadOnlySpan<int> context, Span<double> logProbs);
}

/// <summary>The embedding capability: a fixed-size vector for a text.</summary>
public interface ITextEmbedder
{
    /// <summary>Length of an embedding.</summary>
    int Dimension { get; }

    /// <summary>Writes the embedding of <paramref name="text"/> into <paramref name="destination"/> (length <see cref="Dimension"/>).</summary>
    void Embed(string text, Span<float> destination);
}

/// <summary>
/// A model built from exact next-token distributions: it implements the sampler and the score once, for every such
/// model, by drawing token by token with the project's <see cref="Rng"/> (<see cref="SequenceSampler.Draw"/>: one
/// uniform per token, inversion over the double log-probabilities), stopping at EOS or at the token limit. So the same
/// seed gives the same samples whatever the model kind, and every sample carries its exact log-probability.
/// A derived model supplies the tokenizer and <see cref="NextTokenLogProbs"/>; it must be safe to call from several
/// threads if the model is shared (the sampler keeps its buffers per call).
/// </summary>
public abstract class AutoregressiveLanguageModel : ILanguageModel, INextTokenModel
{
    /// <inheritdoc />
    public abstract string Kind { get; }
    /// <inheritdoc />
    public abstract int VocabSize { get; }
    /// <inheritdoc />
    public abstract int Eos { get; }
    /// <inheritdoc />
    public abstract int[] Encode(string text);
    /// <inheritdoc />
    public abstract string Decode(ReadOnlySpan<int> tokens);
    /// <inheritdoc />
    public abstract void NextTokenLogProbs(ReadOnlySpan<int> context, Span<double> logProbs);
    /// <inheritdoc />
    public abstract void Dispose();

    /// <inheritdoc />
    public bool CanScore => true;
    /// <inheritdoc />
    public INextTokenModel? NextTokens => this;
    /// <inheritdoc />
    public virtual ITextEmbedder? Embedder => null;

    /// <inheritdoc />
    public void Sample(ReadOnlySpan<int> prompt, int maxTokens, Rng rng, Span<SampledSequence> destination)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int limit = Math.Max(maxTokens, 0), start = prompt.Length;
        var context = new int[start + limit];   // prompt, then the response so far
        prompt.CopyTo(context);
        var logProbs = new double[VocabSize];
        for (int i = 0; i < destination.Length; i++)
        {
            var end = EndReason.Length;
            double total = 0;
            int h = 0;
            for (; h < limit; h++)
            {
                NextTokenLogProbs(context.AsSpan(0, start + h), logProbs);
                int a = SequenceSampler.Draw(logProbs, rng);
                total += logProbs[a];
                if (a == Eos) { end = EndReason.Stop; break; }
                context[start + h] = a;
            }
            var tokens = context.AsSpan(start, h).ToArray();
            destination[i] = new SampledSequence(tokens, Decode(tokens), end, total);
        }
    }

    /// <inheritdoc />
    public double Score(ReadOnlySpan<int> prompt, ReadOnlySpan<int> response, EndReason end)
    {
        var context = new int[prompt.Length + response.Length];
        prompt.CopyTo(context);
        response.CopyTo(context.AsSpan(prompt.Length));
        var logProbs = new double[VocabSize];
        double total = 0;
        for (int h = 0; h < response.Length; h++)
        {
            NextTokenLogProbs(context.AsSpan(0, prompt.Length + h), logProbs);
            total += logProbs[response[h]];
        }
        if (end == EndReason.Stop)
        {
            NextTokenLogProbs(context, logProbs);
            total += logProbs[Eos];
        }
        return total;
    }
}

/// <summary>The two numerical kernels of autoregressive sampling, shared by every model that computes logits or log-probabilities.</summary>
public static class SequenceSampler
{
    /// <summary>Draws a token from normalised log-probabilities by inversion (one uniform per token).</summary>
    public static int Draw(ReadOnlySpan<double> logProbs, Rng rng)
    {
        double u = rng.NextDouble();
        double cumulative = 0;
        int last = -1;
        for (int a = 0; a < logProbs.Length; a++)
        {
            if (double.IsNegativeInfinity(logProbs[a])) continue;
            cumulative += Math.Exp(logProbs[a]);
            last = a;
            if (u < cumulative) return a;
        }
        return last; // rounding: u above the float sum of all masses
    }

    /// <summary>Normalises raw logits (any finite values) into log-probabilities in double: log-softmax.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> logits, Span<double> logProbs)
    {
        double max = double.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++) max = Math.Max(max, logits[i]);
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += Math.Exp(logits[i] - max);
        double log = max + Math.Log(sum);
        for (int i = 0; i < logits.Length; i++) logProbs[i] = logits[i] - log;
    }
}

/// <summary>Conveniences over <see cref="ILanguageModel"/>: one draw, and capabilities required with a one-line error.</summary>
public static class LanguageModelExtensions
{
    /// <summary>One response to <paramref name="prompt"/> (a batch of one; see <see cref="ILanguageModel.Sample"/>).</summary>
    public static SampledSequence SampleOne(this ILanguageModel model, ReadOnlySpan<int> prompt, int maxTokens, Rng rng)
    {
        SampledSequence sample = null!;
        model.Sample(prompt, maxTokens, rng, new Span<SampledSequence>(ref sample));
        return sample;
    }

    /// <summary>The model's next-token distributions, or a one-line <see cref="InputException"/> saying that
    /// <paramref name="purpose"/> needs them.</summary>
    public static INextTokenModel RequireNextTokens(this ILanguageModel model, string purpose) => model.NextTokens
        ?? throw new InputException($"{purpose} needs a model that offers next-token distributions; the model (kind '{model.Kind}') does not");

    /// <summary>The model's embeddings, or a one-line <see cref="InputException"/> saying that <paramref name="purpose"/> needs them.</summary>
    public static ITextEmbedder RequireEmbedder(this ILanguageModel model, string purpose) => model.Embedder
        ?? throw new InputException($"{purpose} needs a model that offers embeddings; the model (kind '{model.Kind}') does not (an in-process GGUF model does: --model file.gguf)");
}
