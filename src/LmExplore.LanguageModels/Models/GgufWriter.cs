using System.Text;
using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.LanguageModels;

/// <summary>
/// Writes GGUF v3 files (the llama.cpp model format): header, metadata key–values, tensor infos, 32-byte aligned
/// tensor data. Used to make the tiny llama-architecture model the test suite loads through LLamaSharp
/// (<see cref="WriteTinyLlama"/>), since no weights can be downloaded here, and — through <see cref="TinyLlama"/>,
/// whose result can still be changed before <see cref="Save"/> — the malformed variants the suite feeds the loader.
/// </summary>
public sealed class GgufWriter
{
    private const uint Magic = 0x46554747; // "GGUF" little-endian
    private const uint Version = 3;
    private const int Alignment = 32;
    private const uint F32 = 0; // GGML_TYPE_F32

    private readonly List<(string Key, Action<BinaryWriter> Write)> _metadata = [];
    private readonly List<(string Name, long[] Dims, uint Type, byte[] Data)> _tensors = [];

    /// <summary>Sets a metadata entry: replaces the entry of the same key in place, or appends one.</summary>
    private GgufWriter Set(string key, Action<BinaryWriter> write)
    {
        int i = _metadata.FindIndex(m => m.Key == key);
        if (i >= 0) _metadata[i] = (key, write);
        else _metadata.Add((key, write));
        return this;
    }

    /// <summary>Sets a string value.</summary>
    public GgufWriter Add(string key, string value) => Set(key, w => { w.Write((uint)GgufValueType.String); WriteString(w, value); });
    /// <summary>Sets a uint32 value.</summary>
    public GgufWriter Add(string key, uint value) => Set(key, w => { w.Write((uint)GgufValueType.UInt32); w.Write(value); });
    /// <summary>Sets an int32 value.</summary>
    public GgufWriter Add(string key, int value) => Set(key, w => { w.Write((uint)GgufValueType.Int32); w.Write(value); });
    /// <summary>Sets a float32 value.</summary>
    public GgufWriter Add(string key, float value) => Set(key, w => { w.Write((uint)GgufValueType.Float32); w.Write(value); });
    /// <summary>Sets a bool value.</summary>
    public GgufWriter Add(string key, bool value) => Set(key, w => { w.Write((uint)GgufValueType.Bool); w.Write((byte)(value ? 1 : 0)); });

    /// <summary>Sets an array of strings.</summary>
    public GgufWriter Add(string key, IReadOnlyList<string> values) => Set(key, w =>
    {
        w.Write((uint)GgufValueType.Array); w.Write((uint)GgufValueType.String); w.Write((ulong)values.Count);
        foreach (var v in values) WriteString(w, v);
    });

    /// <summary>Sets an array of float32.</summary>
    public GgufWriter Add(string key, IReadOnlyList<float> values) => Set(key, w =>
    {
        w.Write((uint)GgufValueType.Array); w.Write((uint)GgufValueType.Float32); w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    });

    /// <summary>Sets an array of int32.</summary>
    public GgufWriter Add(string key, IReadOnlyList<int> values) => Set(key, w =>
    {
        w.Write((uint)GgufValueType.Array); w.Write((uint)GgufValueType.Int32); w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    });

    /// <summary>Sets an array of uint32.</summary>
    public GgufWriter Add(string key, IReadOnlyList<uint> values) => Set(key, w =>
    {
        w.Write((uint)GgufValueType.Array); w.Write((uint)GgufValueType.UInt32); w.Write((ulong)values.Count);
        foreach (var v in values) w.Write(v);
    });

    /// <summary>Appends an entry written verbatim — the type number, then <paramref name="value"/> — whatever it holds,
    /// and even if the key is already present (for files llama.cpp must not see).</summary>
    public GgufWriter AddRaw(string key, uint type, byte[] value)
    {
        _metadata.Add((key, w => { w.Write(type); w.Write(value); }));
        return this;
    }

    /// <summary>Removes a metadata entry (no-op if absent).</summary>
    public GgufWriter Remove(string key)
    {
        _metadata.RemoveAll(m => m.Key == key);
        return this;
    }

    /// <summary>Sets an F32 tensor (replacing one of the same name in place). <paramref name="dims"/> in GGUF order:
    /// fastest-varying first (an (out, in) matrix is [in, out]).</summary>
    public GgufWriter Tensor(string name, long[] dims, float[] data)
    {
        if (dims.Aggregate(1L, (a, b) => a * b) != data.Length) throw new ArgumentException($"tensor {name}: dims do not match the data length");
        var bytes = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return RawTensor(name, dims, F32, bytes);
    }

    /// <summary>Sets a tensor of any ggml type from its raw bytes, unchecked (replacing one of the same name in place).</summary>
    public GgufWriter RawTensor(string name, long[] dims, uint type, byte[] data)
    {
        int i = _tensors.FindIndex(t => t.Name == name);
        if (i >= 0) _tensors[i] = (name, dims, type, data);
        else _tensors.Add((name, dims, type, data));
        return this;
    }

    /// <summary>Removes a tensor (no-op if absent).</summary>
    public GgufWriter RemoveTensor(string name)
    {
        _tensors.RemoveAll(t => t.Name == name);
        return this;
    }

    /// <summary>Writes the file (atomically).</summary>
    public void Save(string path) => AtomicFile.WriteBytes(path, stream =>
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var (key, write) in _metadata) { WriteString(w, key); write(w); }
        long offset = 0;
        foreach (var (name, dims, type, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (var d in dims) w.Write((ulong)d);
            w.Write(type);
            w.Write((ulong)offset);
            offset = Align(offset + data.LongLength);
        }
        w.Flush();
        Pad(w);
        foreach (var (_, _, _, data) in _tensors)
        {
            w.Write(data);
            Pad(w);
        }
        w.Flush();
    });

    private static long Align(long x) => (x + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w)
    {
        long pos = w.BaseStream.Position;
        for (long i = pos; i < Align(pos); i++) w.Write((byte)0);
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    /// <summary>
    /// Writes a tiny llama-architecture model with random weights (seeded): a SentencePiece-style vocabulary
    /// (&lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the 256 byte tokens &lt;0x00&gt;…&lt;0xFF&gt; — so any text can be encoded — then ▁, the
    /// letters, digits and some punctuation), dimension 32, 2 layers, 4 heads, feed-forward 64, context 256, F32,
    /// output tied to the embeddings. About 130 KB; llama.cpp loads it in milliseconds.
    /// </summary>
    public static void WriteTinyLlama(string path, ulong seed = 1, int dim = 32, int layers = 2, int heads = 4, int feedForward = 64) =>
        TinyLlama(new TinyLlamaOptions { Seed = seed, Dim = dim, Layers = layers, Heads = heads, FeedForward = feedForward }).Save(path);

    /// <summary>The pieces of the tiny model's vocabulary after its special and byte tokens: ▁, a–z, 0–9 and some punctuation.</summary>
    public static IReadOnlyList<string> TinyPieces { get; } =
        ["\u2581", .. Enumerable.Range('a', 26).Select(c => ((char)c).ToString()), .. Enumerable.Range('0', 10).Select(c => ((char)c).ToString()),
         ">", ":", "+", "=", ".", ",", "?", "!", "-"];

    /// <summary>
    /// The tiny llama model of <see cref="WriteTinyLlama"/> as a writer not yet saved, so that a caller can change it
    /// first (<see cref="Add(string, uint)"/> and the other setters replace entries in place). With the default options
    /// it saves the very file <see cref="WriteTinyLlama"/> writes. Vocabulary: &lt;unk&gt;, &lt;s&gt;, &lt;/s&gt;, the byte tokens
    /// (unless <see cref="TinyLlamaOptions.ByteTokens"/> is false), then <see cref="TinyLlamaOptions.Pieces"/>; special
    /// and byte tokens score 0, the n-th piece −n.
    /// </summary>
    public static GgufWriter TinyLlama(TinyLlamaOptions? options = null)
    {
        var o = options ?? new TinyLlamaOptions();
        int dim = o.Dim, layers = o.Layers, heads = o.Heads, feedForward = o.FeedForward;
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { 2, 3, 3 };
        if (o.ByteTokens)
            for (int b = 0; b < 256; b++) { tokens.Add($"<0x{b:X2}>"); types.Add(6); }
        int firstPiece = tokens.Count;
        foreach (var p in o.Pieces ?? TinyPieces) { tokens.Add(p); types.Add(1); }
        var scores = tokens.Select((_, i) => i < firstPiece ? 0f : -(float)(i - firstPiece)).ToList();
        int vocab = tokens.Count;

        var rng = new Rng(o.Seed).Split("tiny-gguf");
        float[] Random(long n, double scale)
        {
            var a = new float[n];
            for (long i = 0; i < n; i++) a[i] = (float)(scale * rng.NextGaussian());
            return a;
        }
        float[] Ones(long n) => Enumerable.Repeat(1f, (int)n).ToArray();

        var w = new GgufWriter()
            .Add("general.architecture", "llama")
            .Add("general.name", "lmexplore-tiny-random")
            .Add("llama.context_length", 256u)
            .Add("llama.embedding_length", (uint)dim)
            .Add("llama.block_count", (uint)layers)
            .Add("llama.feed_forward_length", (uint)feedForward)
            .Add("llama.attention.head_count", (uint)heads)
            .Add("llama.attention.layer_norm_rms_epsilon", 1e-5f)
            .Add("tokenizer.ggml.model", "llama")
            .Add("tokenizer.ggml.tokens", tokens)
            .Add("tokenizer.ggml.scores", scores)
            .Add("tokenizer.ggml.token_type", types)
            .Add("tokenizer.ggml.unknown_token_id", 0u)
            .Add("tokenizer.ggml.bos_token_id", 1u)
            .Add("tokenizer.ggml.eos_token_id", 2u)
            .Add("tokenizer.ggml.add_bos_token", true)
            .Add("tokenizer.ggml.add_space_prefix", false);
        w.Tensor("token_embd.weight", [dim, vocab], Random((long)dim * vocab, 0.1));
        w.Tensor("output_norm.weight", [dim], Ones(dim));
        for (int l = 0; l < layers; l++)
        {
            string b = $"blk.{l}.";
            w.Tensor(b + "attn_norm.weight", [dim], Ones(dim));
            foreach (var name in new[] { "attn_q", "attn_k", "attn_v", "attn_output" })
                w.Tensor(b + name + ".weight", [dim, dim], Random((long)dim * dim, 0.2));
            w.Tensor(b + "ffn_norm.weight", [dim], Ones(dim));
            w.Tensor(b + "ffn_gate.weight", [dim, feedForward], Random((long)dim * feedForward, 0.2));
            w.Tensor(b + "ffn_up.weight", [dim, feedForward], Random((long)dim * feedForward, 0.2));
            w.Tensor(b + "ffn_down.weight", [feedForward, dim], Random((long)dim * feedForward, 0.2));
        }
        return w;
    }
}

/// <summary>The shape and vocabulary of <see cref="GgufWriter.TinyLlama"/>'s model.</summary>
public sealed record TinyLlamaOptions
{
    /// <summary>Seed of the random weights.</summary>
    public ulong Seed { get; init; } = 1;
    /// <summary>Embedding dimension.</summary>
    public int Dim { get; init; } = 32;
    /// <summary>Layers.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Attention heads.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Feed-forward width.</summary>
    public int FeedForward { get; init; } = 64;
    /// <summary>Whether the vocabulary has the 256 byte tokens (byte fallback: any text can be encoded).</summary>
    public bool ByteTokens { get; init; } = true;
    /// <summary>The ordinary vocabulary entries (null: <see cref="GgufWriter.TinyPieces"/>).</summary>
    public IReadOnlyList<string>? Pieces { get; init; }
}
