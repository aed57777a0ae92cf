using System.Text;
using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.LanguageModels;

/// <summary>
/// Writes GGUF v3 files (the llama.cpp model format): header, metadata key–values, tensor infos, 32-byte aligned F32
/// tensor data. Used to make the tiny llama-architecture model the test suite loads through LLamaSharp
/// (<see cref="WriteTinyLlama"/>), since no weights can be downloaded here.
/// </summary>
public sealed class GgufWriter
{
    private const uint Magic = 0x46554747; // "GGUF" little-endian
    private const uint Version = 3;
    private const int Alignment = 32;

    private enum ValueType : uint { UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9 }

    private readonly List<(string Key, Action<BinaryWriter> Write)> _metadata = [];
    private readonly List<(string Name, long[] Dims, float[] Data)> _tensors = [];

    /// <summary>Adds a string value.</summary>
    public GgufWriter Add(string key, string value) { _metadata.Add((key, w => { w.Write((uint)ValueType.String); WriteString(w, value); })); return this; }
    /// <summary>Adds a uint32 value.</summary>
    public GgufWriter Add(string key, uint value) { _metadata.Add((key, w => { w.Write((uint)ValueType.UInt32); w.Write(value); })); return this; }
    /// <summary>Adds a float32 value.</summary>
    public GgufWriter Add(string key, float value) { _metadata.Add((key, w => { w.Write((uint)ValueType.Float32); w.Write(value); })); return this; }
    /// <summary>Adds a bool value.</summary>
    public GgufWriter Add(string key, bool value) { _metadata.Add((key, w => { w.Write((uint)ValueType.Bool); w.Write((byte)(value ? 1 : 0)); })); return this; }

    /// <summary>Adds an array of strings.</summary>
    public GgufWriter Add(string key, IReadOnlyList<string> values)
    {
        _metadata.Add((key, w =>
        {
            w.Write((uint)ValueType.Array); w.Write((uint)ValueType.String); w.Write((ulong)values.Count);
            foreach (var v in values) WriteString(w, v);
        }));
        return this;
    }

    /// <summary>Adds an array of float32.</summary>
    public GgufWriter Add(string key, IReadOnlyList<float> values)
    {
        _metadata.Add((key, w =>
        {
            w.Write((uint)ValueType.Array); w.Write((uint)ValueType.Float32); w.Write((ulong)values.Count);
            foreach (var v in values) w.Write(v);
        }));
        return this;
    }

    /// <summary>Adds an array of int32.</summary>
    public GgufWriter Add(string key, IReadOnlyList<int> values)
    {
        _metadata.Add((key, w =>
        {
            w.Write((uint)ValueType.Array); w.Write((uint)ValueType.Int32); w.Write((ulong)values.Count);
            foreach (var v in values) w.Write(v);
        }));
        return this;
    }

    /// <summary>Adds an F32 tensor. <paramref name="dims"/> in GGUF order: fastest-varying first (an (out, in) matrix is [in, out]).</summary>
    public GgufWriter Tensor(string name, long[] dims, float[] data)
    {
        if (dims.Aggregate(1L, (a, b) => a * b) != data.Length) throw new ArgumentException($"tensor {name}: dims do not match the data length");
        _tensors.Add((name, dims, data));
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
        foreach (var (name, dims, data) in _tensors)
        {
            WriteString(w, name);
            w.Write((uint)dims.Length);
            foreach (var d in dims) w.Write((ulong)d);
            w.Write(0u); // GGML_TYPE_F32
            w.Write((ulong)offset);
            offset = Align(offset + data.LongLength * 4);
        }
        w.Flush();
        Pad(w);
        foreach (var (_, _, data) in _tensors)
        {
            foreach (var x in data) w.Write(x);
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
    public static void WriteTinyLlama(string path, ulong seed = 1, int dim = 32, int layers = 2, int heads = 4, int feedForward = 64)
    {
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        var types = new List<int> { 2, 3, 3 };
        for (int b = 0; b < 256; b++) { tokens.Add($"<0x{b:X2}>"); types.Add(6); }
        var pieces = new List<string> { "\u2581" };
        for (char c = 'a'; c <= 'z'; c++) pieces.Add(c.ToString());
        for (char c = '0'; c <= '9'; c++) pieces.Add(c.ToString());
        pieces.AddRange([">", ":", "+", "=", ".", ",", "?", "!", "-"]);
        foreach (var p in pieces) { tokens.Add(p); types.Add(1); }
        var scores = tokens.Select((_, i) => i < 259 ? 0f : -(float)(i - 259)).ToList();
        int vocab = tokens.Count;

        var rng = new Rng(seed).Split("tiny-gguf");
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
        w.Save(path);
    }
}
