using LmExplore.Numerics;

namespace LmExplore.Text;

/// <summary>A feature map φ(x, y) of (prompt, response) text, ‖φ‖₂ ≤ 1.</summary>
public interface ITextFeatures
{
    /// <summary>d.</summary>
    int Dimension { get; }
    /// <summary>Writes φ(prompt, response) into <paramref name="features"/> (length d).</summary>
    void Compute(string prompt, string response, Span<double> features);
    /// <summary>For results: "hashed(d=…,n=…)".</summary>
    string Description { get; }
}

/// <summary>
/// Hashed n-gram features (the default): signed feature hashing (64-bit FNV-1a, stable across runs and machines) of
/// (1) the response's character n-grams for n = 1..N, each weighted by its count over the number of n-grams, and
/// (2) the conjunctions (prompt character c, response character u) for every distinct character c of the prompt, weighted
/// by u's frequency in the response. (2) lets rewards that depend on the prompt be linear: in <c>letters</c>,
/// r = Σ_{c ∈ prompt} Σ_u 1[c = u]·freq_u exactly, before hashing. The vector is scaled by 1/2 (in <c>letters</c>, prompts of 3 distinct characters, the norm then lies in [0.41, 1]: no clipping, so the reward stays exactly linear up to hash collisions) and, if its norm still
/// exceeds 1, normalised (a response of one repeated character under a long prompt).
/// </summary>
public sealed class HashedNGramFeatures : ITextFeatures
{
    /// <summary>Default d.</summary>
    public const int DefaultDimension = 128;
    /// <summary>Default largest response n-gram.</summary>
    public const int DefaultN = 1;
    /// <summary>Fixed scale applied before the norm check.</summary>
    public const double Scale = 0.5;

    /// <summary>Creates the map.</summary>
    public HashedNGramFeatures(int dimension = DefaultDimension, int n = DefaultN)
    {
        if (dimension < 1 || dimension > 1 << 20) throw new InputException($"feature dimension must be in 1..{1 << 20}, got {dimension}");
        if (n < 1 || n > 5) throw new InputException($"hashed n-gram length must be in 1..5, got {n}");
        Dimension = dimension;
        N = n;
    }

    /// <inheritdoc />
    public int Dimension { get; }
    /// <summary>Largest response n-gram.</summary>
    public int N { get; }
    /// <inheritdoc />
    public string Description => $"hashed(d={Dimension},n={N})";

    /// <inheritdoc />
    public void Compute(string prompt, string response, Span<double> features)
    {
        features.Clear();
        for (int n = 1; n <= N; n++)
        {
            int count = response.Length - n + 1;
            if (count <= 0) break;
            for (int i = 0; i < count; i++) Add(features, Hash("r" + n + ":", response.AsSpan(i, n)), 1.0 / count);
        }
        if (response.Length > 0)
        {
            var seen = new HashSet<char>();
            foreach (char c in prompt)
            {
                if (!seen.Add(c)) continue;
                foreach (char u in response) Add(features, Hash("x:" + c + "|", [u]), 1.0 / response.Length);
            }
        }
        double norm = 0;
        for (int i = 0; i < features.Length; i++) { features[i] *= Scale; norm += features[i] * features[i]; }
        if (norm > 1)
        {
            double s = 1 / Math.Sqrt(norm);
            for (int i = 0; i < features.Length; i++) features[i] *= s;
        }
    }

    private void Add(Span<double> features, ulong h, double w)
    {
        int bucket = (int)(h % (ulong)Dimension);
        double sign = ((h >> 63) & 1) == 0 ? 1 : -1;
        features[bucket] += sign * w;
    }

    private static ulong Hash(string tag, ReadOnlySpan<char> gram)
    {
        ulong h = Rng.HashString(tag);
        foreach (char c in gram) { h ^= c; h *= 0x100000001B3UL; }
        // finalise (FNV's low bits are weak for short keys)
        h ^= h >> 33; h *= 0xFF51AFD7ED558CCDUL; h ^= h >> 33;
        return h;
    }
}

/// <summary>
/// Features from a user command, kept running like a verifier (<see cref="JsonLineProcess"/>, with the same request ids):
/// one JSON line <c>{"id": n, "prompt": …, "response": …}</c> in, one JSON line <c>{"id": n, "features": [d numbers]}</c>
/// back. A vector of norm above 1 is scaled to norm 1; a reply of another length, with a non-finite entry or that is not
/// JSON stops the run. A reply line may be <see cref="JsonLineProcess.DefaultMaxLineBytes"/> plus
/// <see cref="ReplyBytesPerFeature"/> per feature long: room for any JSON spelling of d doubles.
/// </summary>
public sealed class CommandFeatures : ITextFeatures, IDisposable
{
    /// <summary>Reply bytes allowed per feature on top of the base cap (a double in JSON and its separator take ≤ 26).</summary>
    public const int ReplyBytesPerFeature = 32;

    private readonly JsonLineProcess _process;

    /// <summary>Creates the client for d = <paramref name="dimension"/>.</summary>
    public CommandFeatures(string command, int dimension, TimeSpan timeout, int retries)
    {
        if (dimension < 1 || dimension > 1 << 20) throw new InputException($"feature dimension must be in 1..{1 << 20}, got {dimension}");
        Dimension = dimension;
        _process = new JsonLineProcess("feature command", command, timeout, retries, JsonLineProcess.DefaultMaxLineBytes + ReplyBytesPerFeature * dimension);
    }

    /// <inheritdoc />
    public int Dimension { get; }
    /// <inheritdoc />
    public string Description => $"command(d={Dimension}): {_process.Command}";

    /// <inheritdoc />
    public void Compute(string prompt, string response, Span<double> features)
    {
        int d = Dimension;
        var buffer = new double[d];
        _process.Call(prompt, response, "features", f =>
        {
            if (f.ValueKind != System.Text.Json.JsonValueKind.Array || f.GetArrayLength() != d) return (bool?)null;
            int i = 0;
            foreach (var e in f.EnumerateArray())
            {
                if (e.ValueKind != System.Text.Json.JsonValueKind.Number || !e.TryGetDouble(out double x) || !double.IsFinite(x)) return null;
                buffer[i++] = x;
            }
            return true;
        }, $"[{d} numbers]");
        double norm = 0;
        foreach (var x in buffer) norm += x * x;
        double s = norm > 1 ? 1 / Math.Sqrt(norm) : 1;
        for (int i = 0; i < d; i++) features[i] = buffer[i] * s;
    }

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();
}

/// <summary>
/// Features from any model that offers embeddings (<see cref="LanguageModels.ITextEmbedder"/>, e.g. an in-process GGUF model):
/// φ(x, y) = the embedding of prompt + response, L2-normalised (‖φ‖ = 1). Realizability is an assumption the data will
/// not meet exactly.
/// </summary>
public sealed class EmbeddingFeatures(LanguageModels.ITextEmbedder embedder) : ITextFeatures
{
    /// <inheritdoc />
    public int Dimension => embedder.Dimension;
    /// <inheritdoc />
    public string Description => $"embeddings(d={Dimension})";

    /// <inheritdoc />
    public void Compute(string prompt, string response, Span<double> features)
    {
        var e = new float[embedder.Dimension];
        embedder.Embed(prompt + response, e);
        double norm = 0;
        for (int i = 0; i < features.Length; i++) { features[i] = i < e.Length ? e[i] : 0; norm += features[i] * features[i]; }
        if (norm > 0)
        {
            double s = 1 / Math.Sqrt(norm);
            for (int i = 0; i < features.Length; i++) features[i] *= s;
        }
    }
}
