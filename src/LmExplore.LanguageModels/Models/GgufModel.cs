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
/// start with the model's BOS. Native logging is silenced; the last native error line is kept and quoted when a
/// load fails. Not thread-safe: one instance per run.
/// </summary>
public sealed class GgufModel : AutoregressiveLanguageModel, ITextEmbedder
{
    /// <summary>Context window requested from llama.cpp (tokens).</summary>
    public const uint DefaultContextSize = 512;

    private static readonly Lock LogLock = new();
    private static string _lastNativeError = "";
    private static readonly Lazy<bool> LogConfigured = new(() =>
    {
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning && !string.IsNullOrWhiteSpace(message))
                lock (LogLock) _lastNativeError = message.Trim();
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

    private GgufModel(string path, LLamaWeights weights, LLamaContext context, ModelParams parameters)
    {
        Path = path;
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

    /// <summary>Loads a GGUF file on the CPU (threads: <paramref name="threads"/>). Missing, non-GGUF or unloadable files are
    /// <see cref="InputException"/>s naming the file and llama.cpp's reason.</summary>
    public static GgufModel Load(string path, int threads = 1, uint contextSize = DefaultContextSize)
    {
        if (Directory.Exists(path)) throw new InputException($"{path}: is a directory, not a GGUF model");
        if (!File.Exists(path)) throw new InputException($"{path}: file not found");
        var magic = new byte[4];
        using (var f = File.OpenRead(path))
            if (f.Read(magic, 0, 4) != 4 || Encoding.ASCII.GetString(magic) != "GGUF")
                throw new InputException($"{path}: not a GGUF file (no GGUF magic)");
        _ = LogConfigured.Value;
        var parameters = new ModelParams(System.IO.Path.GetFullPath(path))
        {
            ContextSize = contextSize,
            GpuLayerCount = 0,
            Threads = threads,
            BatchThreads = threads,
            BatchSize = contextSize,
        };
        LLamaWeights weights;
        try
        {
            weights = LLamaWeights.LoadFromFile(parameters);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string reason;
            lock (LogLock) reason = _lastNativeError;
            throw new InputException($"{path}: llama.cpp could not load the model ({(reason.Length > 0 ? reason : e.Message)})");
        }
        var context = weights.CreateContext(parameters);
        return new GgufModel(path, weights, context, parameters);
    }

    /// <inheritdoc />
    public override int[] Encode(string text)
    {
        var tokens = _context.Tokenize(text, addBos: false, special: false);
        return tokens.Select(t => (int)t).ToArray();
    }

    /// <inheritdoc />
    public override string Decode(ReadOnlySpan<int> tokens)
    {
        var bytes = new List<byte>();
        Span<byte> piece = stackalloc byte[64];
        foreach (int t in tokens)
        {
            if (t == Eos) continue;
            uint n = _context.NativeHandle.TokenToSpan((LLamaToken)t, piece);
            for (int i = 0; i < Math.Min(n, (uint)piece.Length); i++) bytes.Add(piece[i]);
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
        var logits = _context.NativeHandle.GetLogitsIth(last);
        SequenceSampler.LogSoftmax(logits[..VocabSize], logProbs);
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
