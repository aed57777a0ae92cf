using LmExplore.Runs;
using LmExplore.Numerics;

namespace LmExplore.LanguageModels;

/// <summary>
/// The one interface every kind of base model implements (llama.cpp / vLLM style): a vocabulary, an end-of-sequence
/// token, a tokenizer, and the exact next-token distribution log π_ref(·|context). Sampling, sequence
/// log-probabilities and the sampling oracle are built on top of it (<see cref="SequenceSampler"/>), so algorithms
/// never see which kind of model they run on. Implementations: <see cref="NGramModel"/> (built in) and
/// <see cref="GgufModel"/> (llama.cpp through LLamaSharp).
/// </summary>
public interface ILanguageModel : IDisposable
{
    /// <summary>"ngram" or "gguf".</summary>
    string Kind { get; }

    /// <summary>Number of tokens a next-token distribution ranges over.</summary>
    int VocabSize { get; }

    /// <summary>The end-of-sequence token: sampling a response stops when it is drawn.</summary>
    int Eos { get; }

    /// <summary>Token ids of <paramref name="text"/> (no BOS/EOS). Throws <see cref="Runs.InputException"/> on text
    /// the vocabulary cannot encode.</summary>
    int[] Encode(string text);

    /// <summary>The text of a token sequence (EOS omitted).</summary>
    string Decode(ReadOnlySpan<int> tokens);

    /// <summary>Writes log π_ref(a|context) for every token a into <paramref name="logProbs"/> (length <see cref="VocabSize"/>),
    /// exactly normalised: logsumexp = 0. The context is the prompt's tokens followed by the response so far.</summary>
    void NextTokenLogProbs(ReadOnlySpan<int> context, Span<double> logProbs);
}

/// <summary>A sampled response: its tokens (EOS excluded), whether it ended with EOS, and log π_ref of the whole draw.</summary>
/// <param name="Tokens">Response tokens, EOS excluded.</param>
/// <param name="Ended">True if EOS was drawn; false if the response was cut at the token limit.</param>
/// <param name="LogProb">Σ log π_ref(a_h|x, a_{&lt;h}) over the drawn tokens (EOS included when drawn). Cutting at the limit is
/// deterministic, so this is the exact log-probability of the returned draw.</param>
public sealed record SampledSequence(int[] Tokens, bool Ended, double LogProb);

/// <summary>
/// Autoregressive sampling from any <see cref="ILanguageModel"/> with the project's <see cref="Rng"/>: the model gives
/// log-probabilities (computed in double), the caller draws — so a seed fixes every sample, whatever the model kind.
/// </summary>
public static class SequenceSampler
{
    /// <summary>Draws a response to <paramref name="prompt"/> of at most <paramref name="maxTokens"/> tokens.</summary>
    public static SampledSequence Sample(ILanguageModel model, ReadOnlySpan<int> prompt, int maxTokens, Rng rng)
    {
        var context = new List<int>(prompt.Length + maxTokens + 1);
        foreach (int t in prompt) context.Add(t);
        var logProbs = new double[model.VocabSize];
        var tokens = new List<int>(maxTokens);
        double total = 0;
        for (int h = 0; h < maxTokens; h++)
        {
            model.NextTokenLogProbs(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(context), logProbs);
            int a = Draw(logProbs, rng);
            total += logProbs[a];
            if (a == model.Eos) return new SampledSequence(tokens.ToArray(), true, total);
            tokens.Add(a);
            context.Add(a);
        }
        return new SampledSequence(tokens.ToArray(), false, total);
    }

    /// <summary>log π_ref(response|prompt) under the same process as <see cref="Sample"/> (cut at maxTokens, EOS charged when ended).</summary>
    public static double LogProb(ILanguageModel model, ReadOnlySpan<int> prompt, ReadOnlySpan<int> response, bool ended)
    {
        var context = new List<int>(prompt.Length + response.Length);
        foreach (int t in prompt) context.Add(t);
        var logProbs = new double[model.VocabSize];
        double total = 0;
        for (int h = 0; h <= response.Length; h++)
        {
            if (h == response.Length && !ended) break;
            model.NextTokenLogProbs(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(context), logProbs);
            int a = h < response.Length ? response[h] : model.Eos;
            total += logProbs[a];
            if (h < response.Length) context.Add(a);
        }
        return total;
    }

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
