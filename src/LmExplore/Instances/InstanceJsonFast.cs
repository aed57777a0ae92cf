using System.Runtime.CompilerServices;
using System.Text.Json;

namespace LmExplore.Instances;

/// <summary>
/// A one-pass streaming reader (<see cref="Utf8JsonReader"/>, no <see cref="JsonDocument"/>) for canonical
/// <c>lmexplore.instance/v1</c> files — what <see cref="InstanceJson.Write"/> produces: numbers go straight from the
/// UTF-8 bytes into each prompt's feature and probability arrays, with no per-number allocation.
/// </summary>
/// <remarks>
/// It accepts only files it can read exactly as the strict reader (<see cref="InstanceJson"/>) does: known keys only,
/// <c>featureDim</c> before <c>theta</c> and <c>prompts</c>, and every element valid. Anything else — another format, an
/// annotation key, a bad number, a syntax error — makes it give up (return null), and the caller re-reads the bytes with
/// the strict reader, which accepts the unusual and words every error. The checks that come after parsing (sums,
/// reward scales) are the strict reader's own methods, so both paths report those identically.
/// </remarks>
internal static class InstanceJsonFast
{
    /// <summary>Thrown internally to give up; never escapes <see cref="TryRead"/>.</summary>
    private sealed class GiveUp : Exception;

    private static readonly GiveUp Unusual = new();

    /// <summary>Bytes read from the file at a time: the file is never held in memory whole (a fresh 400 MB array costs
    /// more in page faults than the parsing it feeds).</summary>
    private const int ChunkBytes = 1 << 20;

    /// <summary>Reads the instance from <paramref name="path"/> in chunks, or returns null when the strict reader must
    /// take over (see the remarks; also for any file-system problem, which the strict reader words). Throws
    /// <see cref="InputException"/> only from the shared post-parse checks.</summary>
    public static EnumerableInstance? TryReadFile(JsonInput input, string path, bool normalize, string fallbackName)
    {
        int[] sizes;
        Parsed parsed;
        try
        {
            sizes = ResponseCounts(path);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            parsed = Parse(new Tokens(stream, new byte[ChunkBytes]), normalize, sizes);
        }
        catch (Exception e) when (e is GiveUp or JsonException or InvalidOperationException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;   // InvalidOperationException: GetString on invalid UTF-8 or an invalid \u escape
        }
        return Build(input, parsed, normalize, fallbackName);
    }

    /// <summary>As <see cref="TryReadFile"/>, for JSON already in memory.</summary>
    public static EnumerableInstance? TryRead(JsonInput input, byte[] json, bool normalize, string fallbackName)
    {
        Parsed parsed;
        try { parsed = Parse(new Tokens(new MemoryStream(json, writable: false), new byte[ChunkBytes]), normalize, []); }
        catch (Exception e) when (e is GiveUp or JsonException or InvalidOperationException) { return null; }
        return Build(input, parsed, normalize, fallbackName);
    }

    /// <summary>
    /// A quick pre-scan (one vectorized search per chunk) for the number of <c>"features"</c> keys after each
    /// <c>"responses"</c> key: each prompt's arrays are then allocated at their final size instead of doubling
    /// (which costs three times the memory traffic). A key-like string value can only make a count wrong, never the
    /// result: the arrays still grow or shrink to what is parsed.
    /// </summary>
    private static int[] ResponseCounts(string path)
    {
        var counts = new List<int>();
        ReadOnlySpan<byte> features = "\"features\""u8, responses = "\"responses\""u8;
        int keep = responses.Length - 1;   // a key may straddle two chunks
        var buffer = new byte[ChunkBytes + keep];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        int carried = 0;
        while (true)
        {
            int read = stream.Read(buffer, carried, ChunkBytes);
            int len = carried + read;
            bool last = read == 0;
            // Match starts in [0, end): a key starting later is seen whole in the next chunk.
            int end = last ? len : Math.Max(0, len - keep);
            var span = buffer.AsSpan(0, len);
            int pos = 0;
            while (pos < end)
            {
                int r = span[pos..].IndexOf(responses);
                int stop = r < 0 || pos + r >= end ? end : pos + r;
                if (counts.Count > 0) counts[^1] += CountStarts(span, pos, stop, features);
                if (stop == end) break;
                counts.Add(0);
                pos = stop + responses.Length;
            }
            if (last) break;
            carried = len - end;
            Buffer.BlockCopy(buffer, end, buffer, 0, carried);
        }
        return [.. counts];
    }

    /// <summary>Occurrences of <paramref name="pattern"/> starting in [start, stop) of <paramref name="span"/>.</summary>
    private static int CountStarts(ReadOnlySpan<byte> span, int start, int stop, ReadOnlySpan<byte> pattern)
    {
        int count = 0;
        while (start < stop)
        {
            int i = span[start..].IndexOf(pattern);
            if (i < 0 || start + i >= stop) break;
            count++;
            start += i + pattern.Length;
        }
        return count;
    }

    /// <summary>Utf8JsonReader over a stream read in chunks: when the reader runs out of bytes mid-document, the
    /// unconsumed tail moves to the front, the buffer is refilled and a new reader continues from the saved state.</summary>
    private ref struct Tokens
    {
        private readonly Stream _stream;
        private byte[] _buffer;
        private int _length;
        private bool _final;
        private Utf8JsonReader _reader;

        public Tokens(Stream stream, byte[] buffer)
        {
            _stream = stream;
            _buffer = buffer;
            Fill(0);
            int start = _buffer.AsSpan(0, _length).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;   // UTF-8 BOM
            _reader = new Utf8JsonReader(_buffer.AsSpan(start, _length - start), _final, new JsonReaderState(new JsonReaderOptions { MaxDepth = 64 }));
            _offset = start;
        }

        private int _offset;

        private void Fill(int from)
        {
            _length = from;
            while (_length < _buffer.Length)
            {
                int n = _stream.Read(_buffer, _length, _buffer.Length - _length);
                if (n == 0) { _final = true; return; }
                _length += n;
            }
            _final = false;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // called per token
        public bool Read()
        {
            while (!_reader.Read())
            {
                if (_final) return false;
                int consumed = _offset + (int)_reader.BytesConsumed;
                int rest = _length - consumed;
                if (rest == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);   // one token longer than the buffer
                Buffer.BlockCopy(_buffer, consumed, _buffer, 0, rest);
                Fill(rest);
                _offset = 0;
                _reader = new Utf8JsonReader(_buffer.AsSpan(0, _length), _final, _reader.CurrentState);
            }
            return true;
        }

        public readonly JsonTokenType TokenType => _reader.TokenType;
        public readonly bool ValueIsEscaped => _reader.ValueIsEscaped;
        public readonly ReadOnlySpan<byte> ValueSpan => _reader.ValueSpan;
        public readonly string? GetString() => _reader.GetString();
        public readonly bool TryGetDouble(out double value) => _reader.TryGetDouble(out value);
    }

    private sealed class Parsed
    {
        public string? Name;
        public double Beta;
        public int Dimension;
        public double[] Theta = [];
        public NoiseModel Noise = NoiseModel.None;
        public readonly List<double> Weights = [];
        public readonly List<double[]> LogProbs = [];
        public readonly List<double[]> Features = [];
        public readonly List<string?[]?> Texts = [];
    }

    private static Parsed Parse(Tokens r, bool normalize, int[] sizes)
    {
        var result = new Parsed();
        bool format = false, name = false, beta = false, dim = false, theta = false, noise = false, prompts = false;
        Next(ref r, JsonTokenType.StartObject);
        while (Key(ref r) is var key && !key.IsEmpty)
        {
            if (key.SequenceEqual("format"u8)) { Once(ref format); if (String(ref r) != InstanceJson.Format) throw Unusual; }
            else if (key.SequenceEqual("name"u8)) { Once(ref name); result.Name = String(ref r); }
            else if (key.SequenceEqual("beta"u8))
            {
                Once(ref beta);
                result.Beta = Number(ref r);
                if (InstanceLimits.BetaProblem(result.Beta) is not null) throw Unusual;
            }
            else if (key.SequenceEqual("featureDim"u8))
            {
                Once(ref dim);
                double v = Number(ref r);
                if (v != Math.Floor(v) || v < 1 || v > 1_000_000) throw Unusual;
                result.Dimension = (int)v;
            }
            else if (key.SequenceEqual("theta"u8))
            {
                Once(ref theta);
                if (!dim) throw Unusual;
                result.Theta = new double[result.Dimension];
                Numbers(ref r, result.Theta);
            }
            else if (key.SequenceEqual("noise"u8)) { Once(ref noise); result.Noise = Noise(ref r); }
            else if (key.SequenceEqual("prompts"u8))
            {
                Once(ref prompts);
                if (!dim) throw Unusual;
                Prompts(ref r, result, normalize, sizes);
            }
            else throw Unusual;   // annotations and misspellings: the strict reader decides
        }
        if (r.Read()) throw Unusual;   // trailing content
        if (!format || !beta || !dim || !theta || !prompts) throw Unusual;
        return result;
    }

    private static void Prompts(ref Tokens r, Parsed result, bool normalize, int[] sizes)
    {
        Next(ref r, JsonTokenType.StartArray);
        int d = result.Dimension;
        while (Next(ref r) != JsonTokenType.EndArray)
        {
            if (r.TokenType != JsonTokenType.StartObject) throw Unusual;
            bool weight = false, responses = false;
            while (Key(ref r) is var key && !key.IsEmpty)
            {
                if (key.SequenceEqual("weight"u8))
                {
                    Once(ref weight);
                    double w = Number(ref r);
                    if (!(w > 0)) throw Unusual;
                    result.Weights.Add(w);
                }
                else if (key.SequenceEqual("responses"u8)) { Once(ref responses); Responses(ref r, result, d, normalize, result.LogProbs.Count < sizes.Length ? sizes[result.LogProbs.Count] : 0); }
                else throw Unusual;
            }
            if (!weight || !responses) throw Unusual;
        }
        if (result.Weights.Count == 0) throw Unusual;
    }

    /// <summary>One prompt's responses into arrays of the pre-scanned size <paramref name="expected"/> (growing by doubling
    /// and trimmed at the end only if the pre-scan was off).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // one-shot hot loop: skip tier-0 code
    private static void Responses(ref Tokens r, Parsed result, int d, bool normalize, int expected)
    {
        Next(ref r, JsonTokenType.StartArray);
        int capacity = expected > 0 && (long)expected * d <= Array.MaxLength ? expected : 64;
        var logProbs = new double[capacity];
        var features = GC.AllocateUninitializedArray<double>(capacity * d);   // every element is written before use
        string?[]? texts = null;
        int n = 0;
        double maxLog = Math.Log(1 + InstanceJson.SumTolerance);
        while (Next(ref r) != JsonTokenType.EndArray)
        {
            if (r.TokenType != JsonTokenType.StartObject) throw Unusual;
            if (n == logProbs.Length)
            {
                if ((long)n * 2 * d > Array.MaxLength) throw Unusual;
                Array.Resize(ref logProbs, n * 2);
                Array.Resize(ref features, n * 2 * d);
                if (texts is not null) Array.Resize(ref texts, n * 2);
            }
            bool prob = false, logProb = false, feats = false, text = false;
            while (Key(ref r) is var key && !key.IsEmpty)
            {
                if (key.SequenceEqual("features"u8)) { Once(ref feats); Numbers(ref r, features.AsSpan(n * d, d)); }
                else if (key.SequenceEqual("refProb"u8))
                {
                    Once(ref prob);
                    if (logProb) throw Unusual;
                    double p = Number(ref r);
                    if (!(p > 0)) throw Unusual;
                    logProbs[n] = Math.Log(p);
                }
                else if (key.SequenceEqual("logRefProb"u8))
                {
                    Once(ref logProb);
                    if (prob) throw Unusual;
                    double lp = Number(ref r);
                    if (lp > maxLog && !normalize) throw Unusual;
                    logProbs[n] = lp;
                }
                else if (key.SequenceEqual("text"u8))
                {
                    Once(ref text);
                    Next(ref r);
                    if (r.TokenType == JsonTokenType.Null) continue;
                    if (r.TokenType != JsonTokenType.String) throw Unusual;
                    texts ??= new string?[logProbs.Length];
                    texts[n] = r.GetString();
                }
                else throw Unusual;
            }
            if (!(prob || logProb) || !feats) throw Unusual;
            n++;
        }
        if (n == 0) throw Unusual;
        Array.Resize(ref logProbs, n);
        Array.Resize(ref features, n * d);
        if (texts is not null) Array.Resize(ref texts, n);
        result.LogProbs.Add(logProbs);
        result.Features.Add(features);
        result.Texts.Add(texts);
    }

    private static NoiseModel Noise(ref Tokens r)
    {
        Next(ref r, JsonTokenType.StartObject);
        string? kind = null;
        double? sigma = null;
        while (Key(ref r) is var key && !key.IsEmpty)
        {
            if (key.SequenceEqual("kind"u8) && kind is null) kind = String(ref r);
            else if (key.SequenceEqual("sigma"u8) && sigma is null) sigma = Number(ref r);
            else throw Unusual;
        }
        return (kind, sigma) switch
        {
            ("none", null) => NoiseModel.None,
            ("bernoulli", null) => NoiseModel.Bernoulli,
            ("gaussian", double s) when s >= 0 => NoiseModel.Gaussian(s),
            _ => throw Unusual,
        };
    }

    /// <summary>The shared post-parse checks, in the strict reader's order: per-prompt sums, weights, rewards.</summary>
    private static EnumerableInstance Build(JsonInput input, Parsed p, bool normalize, string fallbackName)
    {
        int count = p.Weights.Count, d = p.Dimension;
        for (int x = 0; x < count; x++)
            InstanceJson.CheckOrNormalizeLogSum(input, p.LogProbs[x], JsonInput.Index("$.prompts", x) + ".responses", normalize);
        var weights = p.Weights.ToArray();
        InstanceJson.CheckOrNormalizeSum(input, weights, "$.prompts[*].weight", "prompt weights", normalize);
        var prompts = new EnumerablePrompt[count];
        for (int x = 0; x < count; x++)
        {
            var t = p.Texts[x];
            prompts[x] = new EnumerablePrompt(weights[x], p.LogProbs[x], p.Features[x], d, p.Theta, t is not null && t.Any(s => s is not null) ? t : null);
            InstanceJson.CheckRewards(input, prompts[x], JsonInput.Index("$.prompts", x), p.Beta, p.Noise, p.Theta);
        }
        return new EnumerableInstance(p.Name ?? fallbackName, p.Beta, p.Theta, p.Noise, prompts);
    }

    // ---- token helpers: each throws Unusual on anything unexpected ----

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // one-shot hot loop: skip tier-0 code
    private static JsonTokenType Next(ref Tokens r)
    {
        if (!r.Read()) throw Unusual;
        return r.TokenType;
    }

    private static void Next(ref Tokens r, JsonTokenType expected)
    {
        if (Next(ref r) != expected) throw Unusual;
    }

    /// <summary>The next property name (unescaped names only), or empty at the end of the object.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // one-shot hot loop: skip tier-0 code
    private static ReadOnlySpan<byte> Key(ref Tokens r)
    {
        var t = Next(ref r);
        if (t == JsonTokenType.EndObject) return default;
        if (t != JsonTokenType.PropertyName || r.ValueIsEscaped || r.ValueSpan.IsEmpty) throw Unusual;
        return r.ValueSpan;
    }

    private static void Once(ref bool seen)
    {
        if (seen) throw Unusual;
        seen = true;
    }

    private static string String(ref Tokens r)
    {
        if (Next(ref r) != JsonTokenType.String) throw Unusual;
        return r.GetString()!;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // one-shot hot loop: skip tier-0 code
    private static double Number(ref Tokens r)
    {
        if (Next(ref r) != JsonTokenType.Number || !r.TryGetDouble(out double v) || !double.IsFinite(v)) throw Unusual;
        return v;
    }

    /// <summary>An array of exactly <paramref name="destination"/>.Length finite numbers within
    /// <see cref="InstanceLimits.MaxMagnitude"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // one-shot hot loop: skip tier-0 code
    private static void Numbers(ref Tokens r, Span<double> destination)
    {
        Next(ref r, JsonTokenType.StartArray);
        for (int i = 0; i < destination.Length; i++)
        {
            double v = Number(ref r);
            if (!(Math.Abs(v) <= InstanceLimits.MaxMagnitude)) throw Unusual;
            destination[i] = v;
        }
        Next(ref r, JsonTokenType.EndArray);
    }
}
