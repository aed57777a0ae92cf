using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LmExplore.Instances;

namespace LmExplore.LanguageModels;

/// <summary>Tokenization level of an <see cref="NGramModel"/>.</summary>
public enum NGramLevel
{
    /// <summary>One token per character.</summary>
    Char,
    /// <summary>One token per whitespace-separated word; decoding joins with one space.</summary>
    Word,
}

/// <summary>
/// A built-in n-gram language model with interpolated modified Kneser–Ney smoothing (Chen &amp; Goodman 1998):
/// <code>
/// P_k(w|h) = [max(c_k(h,w) − D_k(c_k(h,w)), 0) + (D_k1·N1(h•) + D_k2·N2(h•) + D_k3·N3+(h•))·P_{k−1}(w|h')] / c_k(h)
/// P_k(w|h) = P_{k−1}(w|h')                 when c_k(h) = 0 (unseen context)
/// P_0(w)   = 1/V                           (uniform over the predictable vocabulary, EOS included)
/// </code>
/// c_N are raw counts of the highest order; lower orders use continuation counts (the number of distinct tokens seen
/// left of the k-gram). Discounts per order from counts of counts n1..n4: Y = n1/(n1+2n2), D1 = 1−2Y·n2/n1,
/// D2 = 2−3Y·n3/n2, D3+ = 3−4Y·n4/n3; a discount that is undefined or ≤ 0 (too little data) becomes 0.5, and D_i is
/// capped at i. Every D is positive, so every next-token distribution has full support, and since D_i ≤ i each
/// distribution sums to exactly 1 (tested for every context). Each training line is one sequence: N−1 BOS symbols,
/// its tokens, EOS. The model is Markov in its last N−1 tokens, which is what makes exact dynamic programming over
/// its contexts possible. Files: <c>lmexplore.ngram/v1</c> JSON (docs/FORMATS.md) holding the vocabulary and the
/// highest-order counts; smoothing is recomputed on load, deterministically.
/// </summary>
public sealed class NGramModel : AutoregressiveLanguageModel
{
    /// <summary>The file format id.</summary>
    public const string Format = "lmexplore.ngram/v1";
    /// <summary>Largest order accepted.</summary>
    public const int MaxOrder = 8;
    /// <summary>The EOS token id (always 0); its printable name in files.</summary>
    public const string EosName = "</s>";

    private readonly string[] _vocab;
    private readonly Dictionary<string, int> _index;
    private readonly int _bos;              // context-only symbol = VocabSize
    private readonly ulong _base;           // VocabSize + 1
    private readonly Dictionary<ulong, long>[] _counts;     // per order k (1..N): c_k(g) for k-grams g
    private readonly Dictionary<ulong, ContextStats>[] _contexts; // per order k: stats of (k−1)-token contexts
    private readonly double[][] _discounts;                 // per order k: D1, D2, D3+
    private readonly Dictionary<ulong, long> _highest;       // raw highest-order counts (what is saved)
    private readonly ConcurrentDictionary<ulong, double[]> _cache = new();

    private struct ContextStats
    {
        public long Total;
        public long N1, N2, N3;
    }

    private NGramModel(NGramLevel level, int order, string[] vocab, Dictionary<ulong, long> highest)
    {
        Level = level;
        Order = order;
        _vocab = vocab;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Length; i++) _index[vocab[i]] = i;
        _bos = vocab.Length;
        _base = (ulong)vocab.Length + 1;
        if (Math.Pow(_base, order) >= Math.Pow(2, 63))
            throw new InputException($"n-gram: order {order} with a vocabulary of {vocab.Length} tokens does not fit the model's 64-bit keys; lower --order");
        _highest = highest;
        _counts = new Dictionary<ulong, long>[order + 1];
        _contexts = new Dictionary<ulong, ContextStats>[order + 1];
        _discounts = new double[order + 1][];
        _counts[order] = highest;
        // Continuation counts: a k-gram's count is the number of distinct (k+1)-gram types it ends.
        for (int k = order - 1; k >= 1; k--)
        {
            var lower = new Dictionary<ulong, long>();
            foreach (var g in _counts[k + 1].Keys)
            {
                ulong suffix = g % Pow(k);
                lower[suffix] = lower.GetValueOrDefault(suffix) + 1;
            }
            _counts[k] = lower;
        }
        for (int k = 1; k <= order; k++)
        {
            var stats = new Dictionary<ulong, ContextStats>();
            long n1 = 0, n2 = 0, n3 = 0, n4 = 0;
            foreach (var (g, c) in _counts[k])
            {
                ulong h = g / _base;
                stats.TryGetValue(h, out var s);
                s.Total += c;
                if (c == 1) s.N1++; else if (c == 2) s.N2++; else s.N3++;
                stats[h] = s;
                if (c == 1) n1++; else if (c == 2) n2++; else if (c == 3) n3++; else if (c == 4) n4++;
            }
            _contexts[k] = stats;
            double y = n1 + 2.0 * n2 > 0 ? n1 / (n1 + 2.0 * n2) : double.NaN;
            _discounts[k] = [Discount(1 - 2 * y * n2 / n1, 1), Discount(2 - 3 * y * n3 / n2, 2), Discount(3 - 4 * y * n4 / n3, 3)];
        }
    }

    private static double Discount(double d, int cap) => double.IsFinite(d) && d > 0 ? Math.Min(d, cap) : 0.5;

    private ulong Pow(int k)
    {
        ulong p = 1;
        for (int i = 0; i < k; i++) p *= _base;
        return p;
    }

    /// <summary>Tokenization level.</summary>
    public NGramLevel Level { get; }
    /// <summary>N.</summary>
    public int Order { get; }
    /// <inheritdoc />
    public override string Kind => "ngram";
    /// <inheritdoc />
    public override int VocabSize => _vocab.Length;
    /// <inheritdoc />
    public override int Eos => 0;
    /// <summary>The token strings (index 0 is EOS).</summary>
    public IReadOnlyList<string> Vocabulary => _vocab;
    /// <summary>Discounts D1, D2, D3+ of order k (1..N).</summary>
    public IReadOnlyList<double> Discounts(int k) => _discounts[k];
    /// <summary>Number of distinct highest-order n-grams.</summary>
    public int NGramTypes => _highest.Count;

    /// <summary>Trains on the lines of a corpus (empty lines skipped). Throws <see cref="InputException"/> on an empty corpus or bad order.</summary>
    public static NGramModel Train(IEnumerable<string> lines, int order, NGramLevel level)
    {
        if (order < 1 || order > MaxOrder) throw new InputException($"--order must be between 1 and {MaxOrder}, got {order}");
        var sequences = new List<string[]>();
        var symbols = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in lines)
        {
            var tokens = Split(line.TrimEnd('\r'), level);
            if (tokens.Length == 0) continue;
            sequences.Add(tokens);
            foreach (var t in tokens) symbols.Add(t);
        }
        if (sequences.Count == 0) throw new InputException("corpus: no non-empty lines to train on");
        symbols.Remove(EosName);
        var vocab = new[] { EosName }.Concat(symbols).ToArray();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Length; i++) index[vocab[i]] = i;
        ulong b = (ulong)vocab.Length + 1, bos = (ulong)vocab.Length;
        if (Math.Pow(b, order) >= Math.Pow(2, 63))
            throw new InputException($"n-gram: order {order} with a vocabulary of {vocab.Length} tokens does not fit the model's 64-bit keys; lower --order");
        var highest = new Dictionary<ulong, long>();
        var window = new ulong[order];
        foreach (var seq in sequences)
        {
            Array.Fill(window, bos);
            for (int i = 0; i <= seq.Length; i++)
            {
                ulong w = i < seq.Length ? (ulong)index[seq[i]] : 0UL;
                // shift the window left and append w
                for (int j = 0; j < order - 1; j++) window[j] = window[j + 1];
                window[order - 1] = w;
                ulong key = 0;
                for (int j = 0; j < order; j++) key = key * b + window[j];
                highest[key] = highest.GetValueOrDefault(key) + 1;
            }
        }
        return new NGramModel(level, order, vocab, highest);
    }

    private static string[] Split(string line, NGramLevel level) => level == NGramLevel.Char
        ? line.EnumerateRunes().Select(r => r.ToString()).ToArray()
        : line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);

    /// <inheritdoc />
    public override int[] Encode(string text)
    {
        var parts = Split(text, Level);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (parts[i] == EosName || !_index.TryGetValue(parts[i], out ids[i]))
                throw new InputException($"the n-gram model's vocabulary has no token '{parts[i]}' (in \"{Shorten(text)}\"); train on a corpus that contains it");
        }
        return ids;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <inheritdoc />
    public override string Decode(ReadOnlySpan<int> tokens)
    {
        var sb = new StringBuilder();
        foreach (int t in tokens)
        {
            if (t == Eos) continue;
            if (Level == NGramLevel.Word && sb.Length > 0) sb.Append(' ');
            sb.Append(_vocab[t]);
        }
        return sb.ToString();
    }

    /// <inheritdoc />
    public override void NextTokenLogProbs(ReadOnlySpan<int> context, Span<double> logProbs)
    {
        if (logProbs.Length != VocabSize) throw new ArgumentException($"need {VocabSize} entries", nameof(logProbs));
        // The history h: the last N−1 tokens, BOS-padded on the left.
        ulong h = 0;
        for (int j = Order - 1; j >= 1; j--)
        {
            int i = context.Length - j;
            h = h * _base + (i >= 0 ? (ulong)context[i] : (ulong)_bos);
        }
        if (!_cache.TryGetValue(h, out var cached))
        {
            cached = Distribution(h);
            _cache.TryAdd(h, cached);
        }
        cached.CopyTo(logProbs);
    }

    /// <summary>The exact probabilities P_N(·|h) (not logs), for tests and exact evaluators.</summary>
    public double[] Probabilities(ReadOnlySpan<int> context)
    {
        var lp = new double[VocabSize];
        NextTokenLogProbs(context, lp);
        for (int i = 0; i < lp.Length; i++) lp[i] = Math.Exp(lp[i]);
        return lp;
    }

    private double[] Distribution(ulong history)
    {
        int v = VocabSize;
        var p = new double[v];
        Array.Fill(p, 1.0 / v);
        // Build up from order 1 (empty context) to order N (the full N−1 history).
        for (int k = 1; k <= Order; k++)
        {
            ulong h = history % Pow(k - 1);        // the last k−1 tokens
            if (!_contexts[k].TryGetValue(h, out var s) || s.Total == 0) continue; // unseen: P_k = P_{k−1}
            var d = _discounts[k];
            double gamma = (d[0] * s.N1 + d[1] * s.N2 + d[2] * s.N3) / s.Total;
            var counts = _counts[k];
            for (int w = 0; w < v; w++)
            {
                long c = counts.GetValueOrDefault(h * _base + (ulong)w);
                double discounted = c == 0 ? 0 : Math.Max(c - d[Math.Min(c, 3) - 1], 0);
                p[w] = discounted / s.Total + gamma * p[w];
            }
        }
        var logs = new double[v];
        for (int w = 0; w < v; w++) logs[w] = Math.Log(p[w]);
        return logs;
    }

    /// <summary>Writes the model as <c>lmexplore.ngram/v1</c> JSON (atomically).</summary>
    public void Save(string path)
    {
        AtomicFile.WriteBytes(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("level", Level == NGramLevel.Char ? "char" : "word");
            w.WriteNumber("order", Order);
            w.WriteStartArray("vocab");
            foreach (var t in _vocab) w.WriteStringValue(t);
            w.WriteEndArray();
            w.WriteStartArray("ngrams");
            foreach (var (key, count) in _highest.OrderBy(kv => kv.Key))
            {
                w.WriteStartArray();
                ulong k = key;
                var ids = new long[Order];
                for (int j = Order - 1; j >= 0; j--) { ids[j] = (long)(k % _base); k /= _base; }
                foreach (var id in ids) w.WriteNumberValue(id == _bos ? -1 : id);
                w.WriteNumberValue(count);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>Reads a model written by <see cref="Save"/>; a bad file gets a one-line <see cref="InputException"/> naming the JSON path.</summary>
    public static NGramModel Load(string path)
    {
        var (input, doc) = JsonInput.Open(path);
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw input.Fail("$", "expected an object");
            string format = root.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()! : "";
            if (format != Format) throw input.Fail("$.format", $"expected \"{Format}\", got \"{format}\"");
            var level = root.TryGetProperty("level", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString() switch
            {
                "char" => NGramLevel.Char,
                "word" => NGramLevel.Word,
                var other => throw input.Fail("$.level", $"expected \"char\" or \"word\", got \"{other}\""),
            } : throw input.Fail("$.level", "missing");
            // TryGet* throw on a value of another kind ("2" for 2): check the kind first.
            if (!root.TryGetProperty("order", out var o) || o.ValueKind != JsonValueKind.Number || !o.TryGetInt32(out int order) || order < 1 || order > MaxOrder)
                throw input.Fail("$.order", $"expected an integer in 1..{MaxOrder}");
            if (!root.TryGetProperty("vocab", out var vocabEl) || vocabEl.ValueKind != JsonValueKind.Array || vocabEl.GetArrayLength() < 1)
                throw input.Fail("$.vocab", "expected a non-empty array of strings");
            var vocab = new string[vocabEl.GetArrayLength()];
            int vi = 0;
            foreach (var t in vocabEl.EnumerateArray())
            {
                if (t.ValueKind != JsonValueKind.String) throw input.Fail($"$.vocab[{vi}]", "expected a string");
                vocab[vi++] = t.GetString()!;
            }
            if (vocab[0] != EosName) throw input.Fail("$.vocab[0]", $"expected \"{EosName}\"");
            if (vocab.Distinct(StringComparer.Ordinal).Count() != vocab.Length) throw input.Fail("$.vocab", "duplicate tokens");
            ulong b = (ulong)vocab.Length + 1;
            if (Math.Pow(b, order) >= Math.Pow(2, 63)) throw input.Fail("$.order", "too large for the vocabulary size");
            if (!root.TryGetProperty("ngrams", out var grams) || grams.ValueKind != JsonValueKind.Array || grams.GetArrayLength() == 0)
                throw input.Fail("$.ngrams", "expected a non-empty array");
            var highest = new Dictionary<ulong, long>();
            int gi = 0;
            foreach (var g in grams.EnumerateArray())
            {
                string at = $"$.ngrams[{gi++}]";
                if (g.ValueKind != JsonValueKind.Array || g.GetArrayLength() != order + 1) throw input.Fail(at, $"expected {order} token ids and a count");
                ulong key = 0;
                int j = 0;
                long count = 0;
                foreach (var e in g.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long x)) throw input.Fail($"{at}[{j}]", "expected an integer");
                    if (j < order)
                    {
                        if (x < -1 || x >= vocab.Length) throw input.Fail($"{at}[{j}]", $"token id {x} outside -1..{vocab.Length - 1}");
                        if (x == 0 && j < order - 1) throw input.Fail($"{at}[{j}]", "EOS can only end an n-gram");
                        key = key * b + (x == -1 ? (ulong)vocab.Length : (ulong)x);
                    }
                    else
                    {
                        if (x < 1) throw input.Fail($"{at}[{j}]", "count must be ≥ 1");
                        count = x;
                    }
                    j++;
                }
                if (key % b == (ulong)vocab.Length) throw input.Fail(at, "BOS (-1) cannot be predicted");
                if (!highest.TryAdd(key, count)) throw input.Fail(at, "duplicate n-gram");
            }
            return new NGramModel(level, order, vocab, highest);
        }
    }

    /// <inheritdoc />
    public override void Dispose() { }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Order}-gram {Level.ToString().ToLowerInvariant()} model, {VocabSize} tokens");
}
