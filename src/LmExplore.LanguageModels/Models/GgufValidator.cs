using System.Text;
using LmExplore.Runs;

namespace LmExplore.LanguageModels;

/// <summary>
/// Checks a GGUF file in C# before llama.cpp sees it. llama.cpp trusts its input in ways that end the whole process
/// (an assertion or an uncaught C++ exception is a native abort, which .NET cannot catch): an absurd
/// <c>block_count</c>, duplicate vocabulary entries, a per-layer array of the wrong element type, an unknown RoPE
/// scaling type, too many experts; and some values it accepts silently produce garbage (a non-finite norm epsilon makes
/// every distribution uniform or NaN). What it refuses gracefully it reports only as "failed to load model". So every
/// such case is refused here, as a one-line <see cref="InputException"/> naming the file, the key or tensor, and what
/// is wrong:
/// <list type="bullet">
/// <item>the header and tensor table (<see cref="GgufFile.Read"/>): magic, version, counts, lengths, types, offsets,
/// sizes and alignment, all inside the file;</item>
/// <item>the hyper-parameters llama.cpp asserts on for every architecture: layer count, expert counts, per-layer
/// arrays, RoPE scaling type, finite floats, positive norm epsilons;</item>
/// <item>the vocabulary: present, entries unique, scores and token types of the right type and length, token types
/// valid, byte tokens spelled &lt;0xHH&gt;, BOS/EOS ids inside it;</item>
/// <item>for the <c>llama</c> architecture: head counts and head sizes consistent, and every tensor llama.cpp will
/// ask for present with the shape the hyper-parameters imply (embedding and output rows = vocabulary size).</item>
/// </list>
/// Other architectures get the first three; their shapes are left to llama.cpp, which refuses mismatches gracefully.
/// </summary>
public static class GgufValidator
{
    /// <summary>llama.cpp's limit on layers.</summary>
    public const int MaxLayers = 512;
    /// <summary>llama.cpp's limit on experts.</summary>
    public const int MaxExperts = 512;
    /// <summary>The RoPE scaling types llama.cpp knows (any other string is an assertion failure in llama.cpp).</summary>
    public static readonly IReadOnlyList<string> RopeScalingTypes = ["none", "linear", "yarn", "longrope"];

    /// <summary>Reads and checks <paramref name="path"/>; returns the parsed header.</summary>
    public static GgufFile Validate(string path)
    {
        var file = GgufFile.Read(path);
        var c = new Checker(file);
        string arch = c.String("general.architecture");
        c.FloatsFinite(arch);
        var hp = c.CommonHyperParameters(arch);
        int vocab = c.Vocabulary(arch);
        if (arch == "llama") c.Llama(hp, vocab);
        return file;
    }

    /// <summary>The hyper-parameters common to the architectures, as read and checked.</summary>
    private sealed record HyperParameters(string Arch, long Embedding, int Layers, long[]? FeedForward, long[] Heads, long[] HeadsKv, long Experts);

    private sealed class Checker(GgufFile file)
    {
        private InputException Fail(string what) => new($"{file.Path}: {OneLine(what)}");

        public string String(string key)
        {
            var v = file.Value(key) ?? throw Fail($"metadata key '{key}' is missing");
            return v.AsString() ?? throw Fail($"metadata key '{key}' is {v.TypeName}, not a string");
        }

        /// <summary>An integer scalar, or null when absent.</summary>
        private long? Integer(string key)
        {
            if (file.Value(key) is not { } v) return null;
            if (v.IsArray || !v.IsInteger) throw Fail($"metadata key '{key}' is {v.TypeName}, not an integer");
            return v.Integers![0];
        }

        private long RequiredInteger(string key, long min, long max)
        {
            long x = Integer(key) ?? throw Fail($"metadata key '{key}' is missing");
            if (x < min || x > max) throw Fail($"metadata key '{key}' is {x}; it must be in {min}..{max}");
            return x;
        }

        /// <summary>A scalar or a per-layer array of integers (llama.cpp aborts on a float array here), one value per layer.</summary>
        private long[]? PerLayer(string key, int layers)
        {
            if (file.Value(key) is not { } v) return null;
            if (v.Integers is null) throw Fail($"metadata key '{key}' is {v.TypeName}; it must be an integer or an array of integers");
            if (!v.IsArray) return Enumerable.Repeat(v.Integers[0], layers).ToArray();
            if (v.Count != layers) throw Fail($"metadata key '{key}' has {v.Count} entries; block_count is {layers}");
            return v.Integers;
        }

        /// <summary>Every float scalar in the file, and every float array of the architecture's hyper-parameters, is finite.</summary>
        public void FloatsFinite(string arch)
        {
            foreach (var (key, v) in file.Metadata)
            {
                if (v.Floats is not { } f || (v.IsArray && !key.StartsWith(arch + ".", StringComparison.Ordinal))) continue;
                for (int i = 0; i < f.Length; i++)
                    if (!double.IsFinite(f[i])) throw Fail($"metadata key '{key}'{(v.IsArray ? $"[{i}]" : "")} is {f[i]}, not a finite number");
            }
        }

        public HyperParameters CommonHyperParameters(string arch)
        {
            string p = arch + ".";
            RequiredInteger(p + "context_length", 1, int.MaxValue);
            long embedding = RequiredInteger(p + "embedding_length", 1, int.MaxValue);
            int layers = (int)RequiredInteger(p + "block_count", 1, MaxLayers);

            long experts = Integer(p + "expert_count") ?? 0;
            if (experts < 0 || experts > MaxExperts) throw Fail($"metadata key '{p}expert_count' is {experts}; it must be in 0..{MaxExperts}");
            long used = PerLayer(p + "expert_used_count", layers)?.Max() ?? 0;
            long groups = Integer(p + "expert_group_count") ?? 0, groupsUsed = Integer(p + "expert_group_used_count") ?? 0;
            if (experts > 0)
            {
                if (used < 1 || used > experts) throw Fail($"metadata key '{p}expert_used_count' is {used}; with {experts} experts it must be in 1..{experts}");
                if (groups < 0 || groups >= experts) throw Fail($"metadata key '{p}expert_group_count' is {groups}; it must be below expert_count ({experts})");
                if (groups > 1 && (experts % groups != 0 || groupsUsed < 1 || groupsUsed >= groups))
                    throw Fail($"metadata keys '{p}expert_group_count' ({groups}) and '{p}expert_group_used_count' ({groupsUsed}) are inconsistent with {experts} experts");
            }
            else if (used != 0 || groups != 0)
                throw Fail($"metadata key '{p}{(used != 0 ? "expert_used_count" : "expert_group_count")}' is {(used != 0 ? used : groups)} but the model has no experts ('{p}expert_count' is 0 or absent)");

            var ff = PerLayer(p + "feed_forward_length", layers);
            var heads = PerLayer(p + "attention.head_count", layers) ?? new long[layers];
            var headsKv = PerLayer(p + "attention.head_count_kv", layers) ?? heads;
            foreach (var (key, values) in new[] { ("feed_forward_length", ff), ("attention.head_count", heads), ("attention.head_count_kv", headsKv) })
                if (values is not null && values.FirstOrDefault(x => x < 0 || x > int.MaxValue) is var bad && bad != 0)
                    throw Fail($"metadata key '{p}{key}' holds {bad}, out of range");

            if (file.Value(p + "rope.scaling.type") is { } scaling)
            {
                string s = scaling.AsString() ?? throw Fail($"metadata key '{p}rope.scaling.type' is {scaling.TypeName}, not a string");
                if (!RopeScalingTypes.Contains(s)) throw Fail($"metadata key '{p}rope.scaling.type' is '{s}'; llama.cpp knows {string.Join(", ", RopeScalingTypes)}");
            }
            foreach (var key in new[] { "attention.layer_norm_rms_epsilon", "attention.layer_norm_epsilon" })
                if (file.Value(p + key) is { } eps)
                {
                    if (eps.IsArray || eps.Floats is null) throw Fail($"metadata key '{p}{key}' is {eps.TypeName}, not f32");
                    if (!(eps.Floats[0] > 0)) throw Fail($"metadata key '{p}{key}' is {eps.Floats[0]}; a norm epsilon must be positive");
                }
            if (file.Value(p + "rope.freq_base") is { Floats: [var b] } && !(b > 0)) throw Fail($"metadata key '{p}rope.freq_base' is {b}; it must be positive");
            return new HyperParameters(arch, embedding, layers, ff, heads, headsKv, experts);
        }

        /// <summary>Checks the tokenizer metadata; returns the vocabulary size.</summary>
        public int Vocabulary(string arch)
        {
            const string t = "tokenizer.ggml.";
            string model = String(t + "model");
            if (model is "no_vocab" or "none") throw Fail($"metadata key '{t}model' is '{model}': the model has no vocabulary, and lmexplore needs one to encode prompts");
            var tokensValue = file.Value(t + "tokens") ?? throw Fail($"metadata key '{t}tokens' (the vocabulary) is missing");
            if (!tokensValue.IsArray || tokensValue.Strings is null) throw Fail($"metadata key '{t}tokens' is {tokensValue.TypeName}, not an array of strings");
            var tokens = tokensValue.Strings;
            if (tokens.Length == 0) throw Fail($"metadata key '{t}tokens' is empty");

            // Byte-exact comparison, as llama.cpp's map does (Latin-1 maps each byte to one char).
            var seen = new Dictionary<string, int>(tokens.Length, StringComparer.Ordinal);
            for (int i = 0; i < tokens.Length; i++)
                if (!seen.TryAdd(Encoding.Latin1.GetString(tokens[i]), i))
                    throw Fail($"vocabulary entry '{Show(tokens[i])}' appears twice ({t}tokens ids {seen[Encoding.Latin1.GetString(tokens[i])]} and {i}); llama.cpp needs every entry unique");

            if (file.Value(t + "scores") is { } scores)
            {
                if (!scores.IsArray || (scores.ElementType is not (GgufValueType.Float32 or GgufValueType.Int32))) throw Fail($"metadata key '{t}scores' is {scores.TypeName}, not an array of f32");
                if (scores.Count != tokens.Length) throw Fail($"metadata key '{t}scores' has {scores.Count} entries; the vocabulary has {tokens.Length}");
                if (scores.Floats is { } f && Array.FindIndex(f, double.IsNaN) is var nan and >= 0) throw Fail($"metadata key '{t}scores'[{nan}] is NaN");
            }
            long[]? types = null;
            if (file.Value(t + "token_type") is { } tt)
            {
                if (!tt.IsArray || tt.ElementType != GgufValueType.Int32) throw Fail($"metadata key '{t}token_type' is {tt.TypeName}, not an array of i32");
                if (tt.Count != tokens.Length) throw Fail($"metadata key '{t}token_type' has {tt.Count} entries; the vocabulary has {tokens.Length}");
                types = tt.Integers!;
                int bad = Array.FindIndex(types, x => x is < 0 or > 6);
                if (bad >= 0) throw Fail($"metadata key '{t}token_type'[{bad}] is {types[bad]}; token types are 0..6 (undefined, normal, unknown, control, user-defined, unused, byte)");
                // llama.cpp reads a byte token's value from its text <0xHH>, whatever the text is.
                if (model is "llama" or "t5")
                    for (int i = 0; i < types.Length; i++)
                        if (types[i] == GgufVocabulary.ByteType && !GgufVocabulary.IsByteTokenText(tokens[i]))
                            throw Fail($"vocabulary entry {i} ('{Show(tokens[i])}') has the byte token type but is not written <0xHH>");
            }
            if (model is "gpt2" && file.Value(t + "merges") is not { IsArray: true, ElementType: GgufValueType.String })
                throw Fail($"metadata key '{t}merges' is missing or not an array of strings (a gpt2 tokenizer needs its merges)");
            foreach (var key in new[] { "bos_token_id", "eos_token_id" })
                if (Integer(t + key) is { } id && (id < 0 || id >= tokens.Length))
                    throw Fail($"metadata key '{t}{key}' is {id}, outside the vocabulary (0..{tokens.Length - 1})");
            if (file.Value(arch + ".vocab_size") is { } vs && (vs.IsArray || !vs.IsInteger || vs.Integers![0] != tokens.Length))
                throw Fail($"metadata key '{arch}.vocab_size' is {(vs.Integers is { } iv ? iv[0] : vs.TypeName)}; the vocabulary has {tokens.Length} entries");
            return tokens.Length;
        }

        /// <summary>The llama architecture: head counts and sizes consistent, every tensor with the implied shape.</summary>
        public void Llama(HyperParameters hp, int vocab)
        {
            const string p = "llama.";
            long[] ff = hp.FeedForward ?? throw Fail($"metadata key '{p}feed_forward_length' is missing");
            if (hp.Heads.All(h => h == 0) && file.Value(p + "attention.head_count") is null) throw Fail($"metadata key '{p}attention.head_count' is missing");
            // Tensor shapes come from layer 0's values and the graph from each layer's: they must agree.
            foreach (var (key, values) in new[] { ("feed_forward_length", ff), ("attention.head_count", hp.Heads), ("attention.head_count_kv", hp.HeadsKv) })
                if (values.Any(x => x != values[0])) throw Fail($"metadata key '{p}{key}' varies across layers; the llama architecture needs one value");
            long nEmbd = hp.Embedding, nHead = hp.Heads[0], nHeadKv = hp.HeadsKv[0], nFf = ff[0];
            if (nHead < 1) throw Fail($"metadata key '{p}attention.head_count' is {nHead}; it must be at least 1");
            if (nHeadKv < 1 || nHeadKv > nHead || nHead % nHeadKv != 0)
                throw Fail($"metadata key '{p}attention.head_count_kv' is {nHeadKv}; it must divide attention.head_count ({nHead})");
            if (nFf < 1) throw Fail($"metadata key '{p}feed_forward_length' is {nFf}; it must be at least 1");
            long headK = Integer(p + "attention.key_length") ?? nEmbd / nHead;
            long headV = Integer(p + "attention.value_length") ?? nEmbd / nHead;
            if (headK < 2 || headK % 2 != 0 || headK > int.MaxValue)
                throw Fail($"the attention head size is {headK} (embedding_length {nEmbd} / head_count {nHead}, or attention.key_length); RoPE needs an even size of at least 2");
            if (headV != headK) throw Fail($"metadata key '{p}attention.value_length' is {headV}; the llama architecture needs it equal to the key head size ({headK})");
            long rot = Integer(p + "rope.dimension_count") ?? headK;
            if (rot != headK) throw Fail($"metadata key '{p}rope.dimension_count' is {rot}; the llama architecture rotates the whole head ({headK})");

            Shape("token_embd.weight", nEmbd, vocab);
            Shape("output_norm.weight", nEmbd);
            if (file.Tensor("output.weight") is not null) Shape("output.weight", nEmbd, vocab);
            for (int l = 0; l < hp.Layers; l++)
            {
                string b = $"blk.{l}.";
                Shape(b + "attn_norm.weight", nEmbd);
                Shape(b + "attn_q.weight", nEmbd, headK * nHead);
                Shape(b + "attn_k.weight", nEmbd, headK * nHeadKv);
                Shape(b + "attn_v.weight", nEmbd, headV * nHeadKv);
                Shape(b + "attn_output.weight", headK * nHead, nEmbd);
                Shape(b + "ffn_norm.weight", nEmbd);
                if (hp.Experts > 0) continue; // expert tensors: llama.cpp checks them and refuses gracefully
                Shape(b + "ffn_gate.weight", nEmbd, nFf);
                Shape(b + "ffn_up.weight", nEmbd, nFf);
                Shape(b + "ffn_down.weight", nFf, nEmbd);
            }
        }

        private void Shape(string name, params long[] dims)
        {
            var t = file.Tensor(name) ?? throw Fail($"tensor '{name}' is missing (the llama architecture needs it)");
            bool ok = t.Dims.Length <= 4 && Enumerable.Range(0, 4).All(i => (i < t.Dims.Length ? t.Dims[i] : 1) == (i < dims.Length ? dims[i] : 1));
            if (!ok) throw Fail($"tensor '{name}' has shape {t.Shape}; the hyper-parameters imply [{string.Join(", ", dims)}]");
        }
    }

    /// <summary>A vocabulary entry for an error message: its text, invalid UTF-8 replaced, cut at 40 characters.</summary>
    internal static string Show(byte[] token)
    {
        string s = Encoding.UTF8.GetString(token);
        return s.Length > 40 ? s[..40] + "…" : s;
    }

    /// <summary>Control characters (from names and strings in the file) escaped, so an error stays one line.</summary>
    internal static string OneLine(string s)
    {
        if (!s.Any(char.IsControl)) return s;
        var b = new StringBuilder(s.Length + 8);
        foreach (char ch in s) b.Append(char.IsControl(ch) ? $"\\u{(int)ch:X4}" : ch);
        return b.ToString();
    }
}
