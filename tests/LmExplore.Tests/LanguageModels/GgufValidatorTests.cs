using System.Buffers.Binary;
using System.Text;
using LmExplore.LanguageModels;
using LmExplore.Runs;

namespace LmExplore.Tests.LanguageModels;

/// <summary>
/// Malformed GGUF files, generated from the tiny model by code: each is a change to <see cref="GgufWriter.TinyLlama"/>'s
/// writer before saving, or to the saved bytes. Shared by the validator's tests (in-process, pure C#) and the CLI tests
/// that show llama.cpp never sees them (a child process, where a native abort would be exit code 134).
/// </summary>
internal static class GgufFixtures
{
    /// <summary>Writes the tiny model, changed by <paramref name="change"/>, to <paramref name="dir"/>/<paramref name="name"/>.</summary>
    public static string Tiny(string dir, string name, Action<GgufWriter>? change = null, TinyLlamaOptions? options = null)
    {
        var w = GgufWriter.TinyLlama(options);
        change?.Invoke(w);
        string path = Path.Combine(dir, name);
        w.Save(path);
        return path;
    }

    /// <summary>Writes the tiny model, then changes its bytes.</summary>
    public static string TinyBytes(string dir, string name, Func<byte[], byte[]> change)
    {
        string path = Tiny(dir, name);
        File.WriteAllBytes(path, change(File.ReadAllBytes(path)));
        return path;
    }

    /// <summary>The tiny vocabulary's entries (the order <see cref="GgufWriter.TinyLlama"/> writes them).</summary>
    public static List<string> TinyTokens(TinyLlamaOptions? options = null)
    {
        var o = options ?? new TinyLlamaOptions();
        var tokens = new List<string> { "<unk>", "<s>", "</s>" };
        if (o.ByteTokens) tokens.AddRange(Enumerable.Range(0, 256).Select(b => $"<0x{b:X2}>"));
        tokens.AddRange(o.Pieces ?? GgufWriter.TinyPieces);
        return tokens;
    }

    /// <summary>The tiny vocabulary's token types.</summary>
    public static List<int> TinyTypes(TinyLlamaOptions? options = null) =>
        TinyTokens(options).Select((t, i) => i == 0 ? 2 : i < 3 ? 3 : t.StartsWith("<0x", StringComparison.Ordinal) && t.Length == 6 ? 6 : 1).ToList();

    public static byte[] U64(byte[] file, int at, ulong value) { BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(at), value); return file; }
    public static byte[] U32(byte[] file, int at, uint value) { BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(at), value); return file; }

    /// <summary>Where <paramref name="text"/> (ASCII) first occurs in <paramref name="file"/>.</summary>
    public static int Find(byte[] file, string text) => file.AsSpan().IndexOf(Encoding.ASCII.GetBytes(text));

    /// <summary>A string value's bytes (u64 length, then UTF-8).</summary>
    public static byte[] StringValue(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return [.. BitConverter.GetBytes((ulong)b.Length), .. b];
    }

    /// <summary>
    /// Files llama.cpp would abort the process on (a GGML assertion or an uncaught C++ exception — exit code 134 before the
    /// validator) or silently answer with garbage, as a change to the tiny model, with what the refusal must say.
    /// </summary>
    public static readonly (string Name, Action<GgufWriter> Change, string Message)[] Attacks =
    [
        ("absurd-block-count", w => w.Add("llama.block_count", 4_000_000_000u), "'llama.block_count' is 4000000000; it must be in 1..512"),
        ("duplicate-vocabulary", w => w.Add("tokenizer.ggml.tokens", TinyTokens().Select((t, i) => i == 300 ? "a" : t).ToList()),
            "vocabulary entry 'a' appears twice (tokenizer.ggml.tokens ids 260 and 300)"),
        ("nan-norm-epsilon", w => w.Add("llama.attention.layer_norm_rms_epsilon", float.NaN), "'llama.attention.layer_norm_rms_epsilon' is NaN, not a finite number"),
        ("unknown-rope-scaling", w => w.Add("llama.rope.scaling.type", "bogus"), "'llama.rope.scaling.type' is 'bogus'"),
        ("float-per-layer-array", w => w.Add("llama.feed_forward_length", new List<float> { 64, 64 }), "'llama.feed_forward_length' is array of f32"),
        ("too-many-experts", w => w.Add("llama.expert_count", 513u).Add("llama.expert_used_count", 1u), "'llama.expert_count' is 513"),
        ("experts-used-without-experts", w => w.Add("llama.expert_used_count", 2u), "'llama.expert_used_count' is 2 but the model has no experts"),
    ];
}

/// <summary><see cref="GgufValidator"/>: every malformed file is a one-line error naming the file, the key or tensor, and what is wrong.</summary>
public class GgufValidatorTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-validate");
    public void Dispose() => _dir.Dispose();

    private InputException Refused(string path)
    {
        var e = Assert.Throws<InputException>(() => GgufValidator.Validate(path));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        return e;
    }

    private void RefusedChange(Action<GgufWriter> change, string message) =>
        Assert.Contains(message, Refused(GgufFixtures.Tiny(_dir.Path, "bad.gguf", change)).Message);

    private void RefusedBytes(Func<byte[], byte[]> change, string message) =>
        Assert.Contains(message, Refused(GgufFixtures.TinyBytes(_dir.Path, "bad.gguf", change)).Message);

    [Fact]
    public void TheTinyModel_IsValid_AndItsHeaderIsReadBack()
    {
        var file = GgufValidator.Validate(GgufFixtures.Tiny(_dir.Path, "tiny.gguf"));
        Assert.Equal(3u, file.Version);
        Assert.Equal(2 + 9 * 2, file.Tensors.Count);
        Assert.Equal("llama", file.Value("general.architecture")!.AsString());
        Assert.Equal(305, file.Value("tokenizer.ggml.tokens")!.Count);
        var embd = file.Tensor("token_embd.weight")!;
        Assert.Equal([32L, 305L], embd.Dims);
        Assert.Equal(32L * 305 * 4, embd.Bytes);
        Assert.Equal(0, file.DataOffset % 32);
        Assert.True(file.DataOffset + file.Tensors[^1].Offset + file.Tensors[^1].Bytes <= file.FileLength);
    }

    public static TheoryData<string> AttackNames() => [.. GgufFixtures.Attacks.Select(a => a.Name)];

    [Theory]
    [MemberData(nameof(AttackNames))]
    public void Attacks_AreRefused(string name)
    {
        var (_, change, message) = GgufFixtures.Attacks.Single(a => a.Name == name);
        RefusedChange(change, message);
    }

    [Fact]
    public void Header_CountsAndVersion()
    {
        RefusedBytes(b => GgufFixtures.U32(b, 0, 0x12345678), "not a GGUF file");
        RefusedBytes(b => GgufFixtures.U32(b, 4, 1), "GGUF version 1 is not supported");
        RefusedBytes(b => GgufFixtures.U32(b, 4, 0x03000000), "GGUF version 50331648 is not supported");
        RefusedBytes(b => GgufFixtures.U64(b, 8, 1UL << 40), "declares 1099511627776 tensors; the file (130016 bytes) cannot hold that many");
        RefusedBytes(b => GgufFixtures.U64(b, 16, ulong.MaxValue), "declares -1 metadata entries");
        RefusedBytes(b => GgufFixtures.U64(b, 16, 1UL << 33), "metadata entries; the file (130016 bytes) cannot hold that many");
        RefusedBytes(b => b[..12], "the GGUF header is truncated");
    }

    [Fact]
    public void Metadata_LengthsTypesAndKeys()
    {
        // The first key ("general.architecture") is at 24: u64 length, 20 bytes, then its type at 52.
        RefusedBytes(b => GgufFixtures.U64(b, 24, 1UL << 50), "metadata key 0 declares a string of 1125899906842624 bytes");
        RefusedBytes(b => GgufFixtures.U32(b, 52, 99), "metadata key 'general.architecture' has unknown type 99");
        RefusedBytes(b => GgufFixtures.U64(b, 24, 0), "metadata key 0 is empty");
        RefusedChange(w => w.AddRaw("general.name", 8, GgufFixtures.StringValue("again")), "metadata key 'general.name' appears twice");
        RefusedChange(w => w.AddRaw("x.huge", 9, [.. BitConverter.GetBytes(4u), .. BitConverter.GetBytes(1UL << 40)]), "metadata key 'x.huge' declares 1099511627776 elements");
        RefusedChange(w => w.AddRaw("x.nested", 9, [.. BitConverter.GetBytes(9u), .. BitConverter.GetBytes(1UL)]), "'x.nested' is an array of arrays");
        RefusedChange(w => w.AddRaw("x.element", 9, [.. BitConverter.GetBytes(13u), .. BitConverter.GetBytes(1UL)]), "'x.element' has unknown element type 13");
        RefusedChange(w => w.AddRaw("x.bad\nkey", 4, BitConverter.GetBytes(1u)).AddRaw("x.bad\nkey", 4, BitConverter.GetBytes(1u)), "metadata key 'x.bad\\u000Akey' appears twice");
        RefusedChange(w => w.Add("general.alignment", 48u), "'general.alignment' is 48, not a power of two");
        RefusedChange(w => w.Add("general.alignment", "32"), "'general.alignment' is string, not u32");
        RefusedBytes(b => b[..(GgufFixtures.Find(b, "tokenizer.ggml.tokens") + 3500)], "metadata key 'tokenizer.ggml.tokens' element");
    }

    [Fact]
    public void TensorTable_NamesShapesTypesOffsetsAndSizes()
    {
        RefusedChange(w => w.RawTensor(new string('t', 64), [4], 0, new byte[16]), "has a name of 64 bytes; ggml allows at most 63");
        RefusedBytes(b =>
        {
            int at = GgufFixtures.Find(b, "blk.0.attn_k.weight");
            b[at + "blk.0.attn_".Length] = (byte)'q';
            return b;
        }, "tensor 'blk.0.attn_q.weight' appears twice in the tensor table");
        RefusedChange(w => w.RawTensor("x.five", [1, 1, 1, 1, 1], 0, new byte[4]), "tensor 'x.five' has 5 dimensions; ggml allows at most 4");
        RefusedChange(w => w.RawTensor("x.negative", [-1, 4], 0, new byte[4]), "tensor 'x.negative' has dimension 0 = -1 (negative)");
        RefusedChange(w => w.RawTensor("x.huge", [1L << 40, 1L << 40], 0, new byte[4]), "tensor 'x.huge' has shape [1099511627776]…, more elements than the file");
        RefusedChange(w => w.RawTensor("x.removed", [32], 4, new byte[18]), "tensor 'x.removed' has ggml type 4, which llama.cpp does not read");
        RefusedChange(w => w.RawTensor("x.unknown", [32], 77, new byte[18]), "ggml type 77");
        RefusedChange(w => w.RawTensor("x.q4", [33], 2, new byte[18]), "tensor 'x.q4' of ggml type 2 has 33 elements per row, not a multiple of its block size 32");
        // The first tensor's offset field: after its name (u64 + 17 bytes), n_dims, two dims and the type.
        RefusedBytes(b => GgufFixtures.U64(b, GgufFixtures.Find(b, "token_embd.weight") + 17 + 4 + 16 + 4, 32),
            "tensor 'token_embd.weight' has data offset 32; the tensor table implies 0");
        RefusedBytes(b => b[..^100], "tensor 'blk.1.ffn_down.weight' ([64, 32], 8192 bytes at offset");
        RefusedBytes(b => b[..^100], "extends beyond the end of the file (129916 bytes)");
    }

    [Fact]
    public void HyperParameters_LlamaCppAssertsOn()
    {
        RefusedChange(w => w.Add("llama.block_count", 0u), "'llama.block_count' is 0; it must be in 1..512");
        RefusedChange(w => w.Add("llama.block_count", 513u), "'llama.block_count' is 513");
        RefusedChange(w => w.Remove("llama.block_count"), "metadata key 'llama.block_count' is missing");
        RefusedChange(w => w.Add("llama.block_count", "2"), "'llama.block_count' is string, not an integer");
        RefusedChange(w => w.Remove("llama.context_length"), "metadata key 'llama.context_length' is missing");
        RefusedChange(w => w.Remove("general.architecture"), "metadata key 'general.architecture' is missing");
        RefusedChange(w => w.Add("llama.attention.layer_norm_rms_epsilon", float.PositiveInfinity), "is Infinity, not a finite number");
        RefusedChange(w => w.Add("llama.attention.layer_norm_rms_epsilon", -1e-5f), "a norm epsilon must be positive");
        RefusedChange(w => w.Add("llama.rope.freq_base", float.NaN), "'llama.rope.freq_base' is NaN");
        RefusedChange(w => w.Add("llama.rope.freq_base", 0f), "'llama.rope.freq_base' is 0; it must be positive");
        RefusedChange(w => w.Add("llama.rope.scaling.type", 1u), "'llama.rope.scaling.type' is u32, not a string");
        RefusedChange(w => w.Add("llama.attention.head_count", new List<uint> { 4, 4, 4 }), "'llama.attention.head_count' has 3 entries; block_count is 2");
        RefusedChange(w => w.Add("llama.attention.head_count", new List<uint> { 4, 2 }), "'llama.attention.head_count' varies across layers");
        RefusedChange(w => w.Add("llama.expert_count", 4u), "'llama.expert_used_count' is 0; with 4 experts it must be in 1..4");
        RefusedChange(w => w.Add("llama.expert_count", 4u).Add("llama.expert_used_count", 1u).Add("llama.expert_group_count", 4u), "'llama.expert_group_count' is 4; it must be below expert_count (4)");
    }

    [Fact]
    public void Llama_HeadsAndTensorShapes()
    {
        RefusedChange(w => w.Add("llama.attention.head_count_kv", 3u), "'llama.attention.head_count_kv' is 3; it must divide attention.head_count (4)");
        RefusedChange(w => w.Add("llama.attention.head_count", 0u), "'llama.attention.head_count' is 0; it must be at least 1");
        RefusedChange(w => w.Add("llama.attention.head_count", 64u), "the attention head size is 0");
        RefusedChange(w => w.Add("llama.attention.head_count", 3u), "tensor 'blk.0.attn_q.weight' has shape [32, 32]; the hyper-parameters imply [32, 30]");
        RefusedChange(w => w.Add("llama.attention.head_count_kv", 2u), "tensor 'blk.0.attn_k.weight' has shape [32, 32]; the hyper-parameters imply [32, 16]");
        RefusedChange(w => w.Add("llama.rope.dimension_count", 4u), "'llama.rope.dimension_count' is 4; the llama architecture rotates the whole head (8)");
        RefusedChange(w => w.Add("llama.attention.value_length", 4u), "'llama.attention.value_length' is 4");
        RefusedChange(w => w.Add("llama.embedding_length", 64u), "tensor 'token_embd.weight' has shape [32, 305]; the hyper-parameters imply [64, 305]");
        RefusedChange(w => w.Add("llama.feed_forward_length", 0u), "'llama.feed_forward_length' is 0; it must be at least 1");
        RefusedChange(w => w.Remove("llama.feed_forward_length"), "'llama.feed_forward_length' is missing");
        RefusedChange(w => w.Add("llama.block_count", 3u), "tensor 'blk.2.attn_norm.weight' is missing");
        RefusedChange(w => w.RemoveTensor("blk.1.ffn_down.weight"), "tensor 'blk.1.ffn_down.weight' is missing");
        RefusedChange(w => w.Tensor("output.weight", [32, 300], new float[32 * 300]), "tensor 'output.weight' has shape [32, 300]; the hyper-parameters imply [32, 305]");
        RefusedChange(w => w.Tensor("blk.0.attn_norm.weight", [32, 1, 2], new float[64]), "tensor 'blk.0.attn_norm.weight' has shape [32, 1, 2]; the hyper-parameters imply [32]");
    }

    [Fact]
    public void Vocabulary_SizeEntriesScoresAndTypes()
    {
        var tokens = GgufFixtures.TinyTokens();
        var types = GgufFixtures.TinyTypes();
        RefusedChange(w => w.Tensor("token_embd.weight", [32, 304], new float[32 * 304]), "tensor 'token_embd.weight' has shape [32, 304]; the hyper-parameters imply [32, 305]");
        RefusedChange(w => w.Add("llama.vocab_size", 300u), "'llama.vocab_size' is 300; the vocabulary has 305 entries");
        RefusedChange(w => w.Remove("tokenizer.ggml.tokens"), "'tokenizer.ggml.tokens' (the vocabulary) is missing");
        RefusedChange(w => w.Add("tokenizer.ggml.tokens", types), "'tokenizer.ggml.tokens' is array of i32, not an array of strings");
        RefusedChange(w => w.Add("tokenizer.ggml.tokens", new List<string>()), "'tokenizer.ggml.tokens' is empty");
        RefusedChange(w => w.Add("tokenizer.ggml.tokens", tokens.Select((t, i) => i == 7 ? "<0x00>" : t).ToList()), "vocabulary entry '<0x00>' appears twice (tokenizer.ggml.tokens ids 3 and 7)");
        RefusedChange(w => w.Add("tokenizer.ggml.tokens", tokens.Select((t, i) => i is 300 or 301 ? "x\n" : t).ToList()), "vocabulary entry 'x\\u000A' appears twice");
        RefusedChange(w => w.Add("tokenizer.ggml.scores", new List<float> { 0, 1 }), "'tokenizer.ggml.scores' has 2 entries; the vocabulary has 305");
        RefusedChange(w => w.Add("tokenizer.ggml.scores", tokens.Select(_ => "s").ToList()), "'tokenizer.ggml.scores' is array of string, not an array of f32");
        RefusedChange(w => w.Add("tokenizer.ggml.scores", tokens.Select((_, i) => i == 9 ? float.NaN : 0f).ToList()), "'tokenizer.ggml.scores'[9] is NaN");
        RefusedChange(w => w.Add("tokenizer.ggml.token_type", types.Take(10).ToList()), "'tokenizer.ggml.token_type' has 10 entries; the vocabulary has 305");
        RefusedChange(w => w.Add("tokenizer.ggml.token_type", types.Select(t => (uint)t).ToList()), "'tokenizer.ggml.token_type' is array of u32, not an array of i32");
        RefusedChange(w => w.Add("tokenizer.ggml.token_type", types.Select((t, i) => i == 300 ? 99 : t).ToList()), "'tokenizer.ggml.token_type'[300] is 99; token types are 0..6");
        RefusedChange(w => w.Add("tokenizer.ggml.token_type", types.Select((t, i) => i == 300 ? -1 : t).ToList()), "'tokenizer.ggml.token_type'[300] is -1");
        RefusedChange(w => w.Add("tokenizer.ggml.token_type", types.Select((t, i) => i == 300 ? 6 : t).ToList()), "vocabulary entry 300 ('.') has the byte token type but is not written <0xHH>");
        RefusedChange(w => w.Add("tokenizer.ggml.bos_token_id", 100_000u), "'tokenizer.ggml.bos_token_id' is 100000, outside the vocabulary (0..304)");
        RefusedChange(w => w.Add("tokenizer.ggml.eos_token_id", 305u), "'tokenizer.ggml.eos_token_id' is 305");
        RefusedChange(w => w.Remove("tokenizer.ggml.model"), "'tokenizer.ggml.model' is missing");
        RefusedChange(w => w.Add("tokenizer.ggml.model", "no_vocab"), "the model has no vocabulary");
        RefusedChange(w => w.Add("tokenizer.ggml.model", "gpt2"), "'tokenizer.ggml.merges' is missing or not an array of strings");
    }

    [Fact]
    public void ErrorsNameTheFile_AndNothingIsAllocatedFromAbsurdCounts()
    {
        // A tiny file claiming 2^40 tensors and 2^40 metadata entries: refused at the header, before any table is read.
        string path = Path.Combine(_dir.Path, "claims.gguf");
        File.WriteAllBytes(path, [.. BitConverter.GetBytes(GgufFile.Magic), .. BitConverter.GetBytes(3u), .. BitConverter.GetBytes(1UL << 40), .. BitConverter.GetBytes(1UL << 40)]);
        Assert.Contains("cannot hold that many", Refused(path).Message);
    }
}
