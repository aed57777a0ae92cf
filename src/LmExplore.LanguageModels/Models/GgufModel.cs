using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;

namespace LmExplore.LanguageModels;

/// <summary>
/// A GGUF model run in-process by llama.cpp through LLamaSharp (CPU backend). Next-token distributions come from the
/// model's logits, normalised here in double (log-softmax) — the sampling itself is <see cref="AutoregressiveLanguageModel"/>'s,
/// with the project's <see cref="Numerics.Rng"/>, so a seed fixes every sample. It also offers embeddings
/// (<see cref="ITextEmbedder"/>: mean-pooled, from a second context). The KV cache is reused across calls
/// whose contexts share a prefix (sampling a sequence token by token costs one 1-token decode per token). Contexts
/// start with the model's BOS. Not thread-safe: one instance per run.
/// <para>
/// llama.cpp aborts the process on some bad input and answers other bad input with garbage, so nothing reaches it
/// unchecked: the file is checked by <see cref="GgufValidator"/> before it is loaded, text by
/// <see cref="GgufVocabulary"/> before it is tokenized, and the model's first logits (after BOS) must be finite before
/// it is used. Attention runs without flash attention and with an F32 KV cache, so log-probabilities are those of an
/// exact forward pass to float rounding. Native logging is silenced; a load llama.cpp refuses quotes its reason.
/// </para>
/// </summary>
public sealed class GgufModel : AutoregressiveLanguageModel, ITextEmbedder
{
    /// <summary>Context window requested from llama.cpp (tokens).</summary>
    public const uint DefaultContextSize = 512;

    // Loads are serialised so that the native log lines captured during one belong to it (the callback is process-wide).
    private static readonly Lock LoadLock = new();
    private static readonly Lock LogLock = new();
    private static List<string>? _captured;   // error lines of the load under way, else null
    private static readonly Lazy<bool> LogConfigured = new(() =>
    {
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level is not LLamaLogLevel.Error || string.IsNullOrWhiteSpace(message)) return;
            lock (LogLock) _captured?.Add(message.Trim());
        });
        return true;
    });

    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;
    private readonly LLamaBatch _batch = new();
    private readonly List<int> _cached = [];   // tokens whose keys/values are in the cache (BOS first)
    private double[]? _cachedLogProbs;           // next-token log-probabilities after _cached
    private readonly int _bos;
    private readonly ModelParams _params;
    private LLamaContext? _embeddingContext;
    private byte[] _piece = new byte[64];        // decoding buffer, grown to the longest token decoded
    private readonly GgufVocabulary _vocabulary;

    private GgufModel(string path, LLamaWeights weights, LLamaContext context, ModelParams parameters, GgufVocabulary vocabulary)
    {
        Path = path;
        _vocabulary = vocabulary;
        _weights = weights;
        _context = context;
        _params = parameters;
        VocabSize = weights.Vocab.Count;
        Eos = weights.Vocab.EOS is LLamaToken e ? (int)e : 2;
        _bos = weights.Vocab.BOS is LLamaToken b ? (int)b : 1;
    }

    /// <summary>The file.</summary>
    public string Path { get; }
    /// <inheritdoc />
    public override string Kind => "gguf";
    /// <inheritdoc />
    public override int VocabSize { get; }
    /// <inheritdoc />
    public override int Eos { get; }
    /// <summary>Embedding dimension of the model.</summary>
    public int EmbeddingSize => _weights.EmbeddingSize;
    /// <inheritdoc />
    public override ITextEmbedder? Embedder => this;
    int ITextEmbedder.Dimension => EmbeddingSize;
    /// <summary>Context window (tokens).</summary>
    public int ContextSize => (int)_context.ContextSize;

    /// <summary>
    /// Loads a GGUF file on the CPU (threads: <paramref name="threads"/>). A missing or malformed file, one llama.cpp
    /// cannot load, or one whose first logits are not finite is a one-line <see cref="InputException"/> naming the file
    /// and the reason.
    /// </summary>
    public static GgufModel Load(string path, int threads = 1, uint contextSize = DefaultContextSize)
    {
        if (Directory.Exists(path)) throw new InputException($"{path}: is a directory, not a GGUF model");
        if (!File.Exists(path)) throw new InputException($"{path}: file not found");
        GgufFile file;
        try { file = GgufValidator.Validate(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new InputException($"{path}: cannot read the file ({e.Message.ReplaceLineEndings(" ")})"); }
        var vocabulary = new GgufVocabulary(file);
        _ = LogConfigured.Value;
        var parameters = new ModelParams(System.IO.Path.GetFullPath(path))
        {
            ContextSize = contextSize,
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
            BatchSize = contextSize,
            // Exact attention: flash attention and an F16 KV cache each round the scores.
            FlashAttention = false,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
        };
        LLamaWeights weights;
        LLamaContext context;
        lock (LoadLock)
        {
            lock (LogLock) _captured = [];
            try
            {
                try { weights = LLamaWeights.LoadFromFile(parameters); }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new InputException($"{path}: llama.cpp could not load the model ({NativeReason(e)})");
                }
                try { context = weights.CreateContext(parameters); }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    weights.Dispose();
                    throw new InputException($"{path}: llama.cpp could not create a context for the model ({NativeReason(e)})");
                }
            }
            finally
            {
                lock (LogLock) _captured = null;
            }
        }
        var model = new GgufModel(path, weights, context, parameters, vocabulary);
        try
        {
            model.CheckUsable();
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>Why llama.cpp refused: its own error line ("error loading model: …") rather than the generic one the
    /// .NET exception carries.</summary>
    private static string NativeReason(Exception e)
    {
        List<string> lines;
        lock (LogLock) lines = [.. _captured ?? []];
        const string marker = "error loading model: ";
        string? reason = lines.Select(l => l.IndexOf(marker, StringComparison.Ordinal) is int i and >= 0 ? l[(i + marker.Length)..] : null).FirstOrDefault(l => l is { Length: > 0 })
            ?? lines.FirstOrDefault(l => !l.Contains("failed to load model", StringComparison.Ordinal))
            ?? lines.LastOrDefault();
        return GgufValidator.OneLine((reason ?? e.Message).Trim());
    }

    /// <summary>
    /// The special tokens sampling relies on exist, and one forward pass over BOS gives finite logits: weights with NaN
    /// or infinite values (or values that overflow) would otherwise make every draw the last token, with exit code 0.
    /// The cache is cleared afterwards, so later calls decode exactly as they would have without this check.
    /// </summary>
    private void CheckUsable()
    {
        if (_weights.Vocab.EOS is null) throw new InputException($"{Path}: the model has no end-of-sequence token (tokenizer.ggml.eos_token_id), which sampling needs");
        if (Eos >= VocabSize || _bos >= VocabSize) throw new InputException($"{Path}: the model's BOS ({_bos}) or EOS ({Eos}) token is outside its vocabulary of {VocabSize}");
        _batch.Clear();
        int index = _batch.Add((LLamaToken)_bos, 0, LLamaSeqId.Zero, true);
        var result = _context.NativeHandle.Decode(_batch);
        if (result != DecodeResult.Ok) throw new InputException($"{Path}: llama.cpp could not run the model on its BOS token ({result})");
        var logits = _context.NativeHandle.GetLogitsIth(index)[..VocabSize];
        int bad = IndexOfNonFinite(logits);
        _context.NativeHandle.MemoryClear(true);
        if (bad >= 0)
            throw new InputException($"{Path}: the model's first next-token logits are not finite ({logits[bad]} for token {bad}, after BOS): its weights hold NaN or infinite values, or overflow");
    }

    private static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    /// <inheritdoc />
    public override int[] Encode(string text)
    {
        _vocabulary.EnsureEncodable(text); // llama.cpp aborts the process on text its vocabulary cannot encode
        var tokens = _context.Tokenize(text, addBos: false, special: false);
        return tokens.Select(t => (int)t).ToArray();
    }

    /// <inheritdoc />
    public override string Decode(ReadOnlySpan<int> tokens)
    {
        var bytes = new List<byte>();
        foreach (int t in tokens)
        {
            if (t == Eos) continue;
            // llama.cpp writes nothing into a buffer too small for the piece and returns the size it needs.
            uint n = _context.NativeHandle.TokenToSpan((LLamaToken)t, _piece);
            if (n > _piece.Length)
            {
                _piece = new byte[n];
                n = _context.NativeHandle.TokenToSpan((LLamaToken)t, _piece);
            }
            bytes.AddRange(_piece.AsSpan(0, (int)Math.Min(n, (uint)_piece.Length)));
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <inheritdoc />
    public override void NextTokenLogProbs(ReadOnlySpan<int> context, Span<double> logProbs)
    {
        if (logProbs.Length != VocabSize) throw new ArgumentException($"need {VocabSize} entries", nameof(logProbs));
        int total = context.Length + 1; // BOS + context
        if (total > ContextSize) throw new InputException($"{Path}: prompt + response ({total} tokens) exceed the context window ({ContextSize}); lower max-tokens");
        // Longest common prefix of the cached sequence and BOS + context.
        int common = 0;
        if (_cached.Count > 0 && _cached[0] == _bos)
        {
            common = 1;
            while (common < _cached.Count && common < total && _cached[common] == context[common - 1]) common++;
        }
        if (common == total && common == _cached.Count && _cachedLogProbs is not null)
        {
            _cachedLogProbs.CopyTo(logProbs);
            return;
        }
        if (common == total) common--; // the last token must be decoded again to get its logits
        _context.NativeHandle.MemorySequenceRemove(LLamaSeqId.Zero, common, -1);
        if (_cached.Count > common) _cached.RemoveRange(common, _cached.Count - common);
        _batch.Clear();
        int last = -1;
        for (int pos = common; pos < total; pos++)
        {
            int token = pos == 0 ? _bos : context[pos - 1];
            last = _batch.Add((LLamaToken)token, pos, LLamaSeqId.Zero, pos == total - 1);
            _cached.Add(token);
        }
        var result = _context.NativeHandle.Decode(_batch);
        if (result != DecodeResult.Ok)
        {
            _cached.Clear();
            _context.NativeHandle.MemoryClear(true);
            throw new InvalidOperationException($"llama.cpp decode failed ({result})");
        }
        var logits = _context.NativeHandle.GetLogitsIth(last)[..VocabSize];
        if (IndexOfNonFinite(logits) is var bad and >= 0)
        {
            _cached.Clear(); // the cached log-probabilities no longer match the cache: start afresh next time
            _context.NativeHandle.MemoryClear(true);
            throw new InputException($"{Path}: llama.cpp gave a non-finite logit ({logits[bad]} for token {bad}) after {total} tokens of context; the model's weights or hyper-parameters are not usable");
        }
        SequenceSampler.LogSoftmax(logits, logProbs);
        _cachedLogProbs ??= new double[VocabSize];
        logProbs.CopyTo(_cachedLogProbs);
    }

    /// <summary>Writes the mean-pooled embedding of BOS + <paramref name="text"/>'s tokens (a second context with embeddings on)
    /// into <paramref name="destination"/> (length <see cref="EmbeddingSize"/>).</summary>
    public void Embed(string text, Span<float> destination)
    {
        if (destination.Length != EmbeddingSize) throw new ArgumentException($"need {EmbeddingSize} entries", nameof(destination));
        _embeddingContext ??= _weights.CreateContext(new ModelParams(_params.ModelPath)
        {
            ContextSize = _params.ContextSize, GpuLayerCount = 0, Threads = _params.Threads, BatchThreads = _params.BatchThreads,
            BatchSize = _params.BatchSize, Embeddings = true, PoolingType = LLamaPoolingType.Mean,
            FlashAttention = _params.FlashAttention, TypeK = _params.TypeK, TypeV = _params.TypeV,
        });
        var tokens = Encode(text);
        if (tokens.Length + 1 > ContextSize) throw new InputException($"{Path}: text of {tokens.Length} tokens exceeds the context window");
        var handle = _embeddingContext.NativeHandle;
        handle.MemoryClear(true);
        var batch = new LLamaBatch();
        batch.Add((LLamaToken)_bos, 0, LLamaSeqId.Zero, true);
        for (int i = 0; i < tokens.Length; i++) batch.Add((LLamaToken)tokens[i], i + 1, LLamaSeqId.Zero, true);
        var result = handle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama.cpp decode failed ({result})");
        var embedding = handle.GetEmbeddingsSeq(LLamaSeqId.Zero);
        destination.Clear();
        embedding[..Math.Min(embedding.Length, destination.Length)].CopyTo(destination);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _embeddingContext?.Dispose();
        _context.Dispose();
        _weights.Dispose();
    }
}
