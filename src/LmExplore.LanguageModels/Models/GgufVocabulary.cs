using System.Text;
using LmExplore.Runs;

namespace LmExplore.LanguageModels;

/// <summary>
/// What text a GGUF model's vocabulary can encode, decided in C# before llama.cpp tokenizes it. llama.cpp's
/// SentencePiece tokenizer (<c>tokenizer.ggml.model = llama</c>) falls back to byte tokens for a character that has no
/// token, and when the vocabulary has no byte token either it throws inside native code, which aborts the process. Its
/// BPE tokenizer (<c>gpt2</c>) instead drops such bytes silently. Both are refused here, naming the character and its
/// position, by the same rules llama.cpp follows: the text is split around user-defined tokens (matched literally,
/// longest first); SentencePiece then prefixes a space where the vocabulary asks for it, writes spaces as ▁, and merges
/// adjacent pieces into tokens (highest score first) — a UTF-8 character left on its own must be a token or have a
/// token for each of its bytes (&lt;0xHH&gt;, or the byte itself). For BPE the check is conservative: every byte's
/// printable stand-in character must be a token (a vocabulary learned from bytes has all 256). Other tokenizers map
/// unknown text to their unknown token, so any text is accepted.
/// </summary>
public sealed class GgufVocabulary
{
    /// <summary>The token type of byte tokens.</summary>
    public const int ByteType = 6;
    private const int UserDefinedType = 4;

    private readonly string _path;
    private readonly string _model;
    private readonly HashSet<string> _tokens;       // Latin-1 view of each entry's bytes: byte-exact lookups
    private readonly byte[][] _userDefined;         // longest first
    private readonly bool _addSpacePrefix;
    private readonly byte[][] _entries;
    private readonly double[]? _scores;
    private Dictionary<string, int>? _ids;          // entry → id, built the first time merges must be run
    private const string SpaceText = "\u2581";       // SentencePiece writes spaces as ▁
    private static readonly byte[] SpaceMark = Encoding.UTF8.GetBytes(SpaceText);
    private static readonly string[] ByteStandIns = BuildByteStandIns();

    /// <summary>The vocabulary of a checked GGUF header.</summary>
    public GgufVocabulary(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        _path = file.Path;
        _model = file.Value("tokenizer.ggml.model")?.AsString() ?? "";
        var tokens = file.Value("tokenizer.ggml.tokens")?.Strings ?? [];
        _entries = tokens;
        var scores = file.Value("tokenizer.ggml.scores");
        _scores = scores?.Floats ?? scores?.Integers?.Select(x => (double)x).ToArray();
        _tokens = new HashSet<string>(tokens.Select(t => Encoding.Latin1.GetString(t)), StringComparer.Ordinal);
        var types = file.Value("tokenizer.ggml.token_type")?.Integers;
        _userDefined = types is null ? [] : tokens.Where((t, i) => types[i] == UserDefinedType && t.Length > 0).OrderByDescending(t => t.Length).ToArray();
        // llama.cpp's default: SentencePiece adds a leading space unless the file says otherwise.
        _addSpacePrefix = _model == "llama" && (file.Value("tokenizer.ggml.add_space_prefix")?.Integers is not [0]);
    }

    /// <summary>Whether <paramref name="token"/> is written &lt;0xHH&gt;, as llama.cpp reads a byte token.</summary>
    public static bool IsByteTokenText(byte[] token) =>
        token is [(byte)'<', (byte)'0', (byte)'x', var h, var l, (byte)'>'] && Uri.IsHexDigit((char)h) && Uri.IsHexDigit((char)l);

    /// <summary>Throws a one-line <see cref="InputException"/> naming the first character of <paramref name="text"/> the
    /// vocabulary cannot encode, and where it is; returns for encodable text.</summary>
    public void EnsureEncodable(string text)
    {
        if (_model is not ("llama" or "gpt2") || text.Length == 0) return;
        // The bytes llama.cpp receives (lone surrogates become U+FFFD, as in LLamaSharp), and the character each starts.
        var bytes = new List<byte>(text.Length);
        var charAt = new List<int>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length;)
        {
            var status = System.Text.Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int used);
            if (status != System.Buffers.OperationStatus.Done) rune = System.Text.Rune.ReplacementChar;
            int n = rune.EncodeToUtf8(utf8);
            for (int k = 0; k < n; k++) { bytes.Add(utf8[k]); charAt.Add(i); }
            i += Math.Max(used, 1);
        }
        var raw = bytes.ToArray();
        bool previousSpecial = true;
        foreach (var (start, length, isToken) in Partition(raw))
        {
            if (isToken) { previousSpecial = true; continue; }
            if (_model == "llama") CheckSentencePiece(text, raw, charAt, start, length, _addSpacePrefix && previousSpecial);
            else CheckBytePairs(text, raw, charAt, start, length);
            previousSpecial = false;
        }
    }

    /// <summary>The text split around user-defined tokens (each found literally, longest token first), as llama.cpp does
    /// before tokenizing the pieces between them.</summary>
    private List<(int Start, int Length, bool IsToken)> Partition(byte[] raw)
    {
        var parts = new List<(int Start, int Length, bool IsToken)> { (0, raw.Length, false) };
        foreach (var token in _userDefined)
        {
            for (int p = 0; p < parts.Count; p++)
            {
                var (start, length, isToken) = parts[p];
                if (isToken || length < token.Length) continue;
                int at = raw.AsSpan(start, length).IndexOf(token);
                if (at < 0) continue;
                var replacement = new List<(int, int, bool)>();
                if (at > 0) replacement.Add((start, at, false));
                replacement.Add((start + at, token.Length, true));
                if (at + token.Length < length) replacement.Add((start + at + token.Length, length - at - token.Length, false));
                parts.RemoveAt(p);
                parts.InsertRange(p, replacement);
                // the remainder (if any) is examined next, at index p + replacement.Count - 1
                p += replacement.Count - 2;
            }
        }
        return parts;
    }

    private void CheckSentencePiece(string text, byte[] raw, List<int> charAt, int start, int length, bool spacePrefix)
    {
        // The bytes llama.cpp's SentencePiece session sees: an optional leading space, spaces written as ▁; and for each
        // byte the position in the text of the character it comes from (-1: the added space).
        var bytes = new List<byte>(length + 3);
        var origin = new List<int>(length + 3);
        void Append(ReadOnlySpan<byte> b, int at) { foreach (byte x in b) { bytes.Add(x); origin.Add(at); } }
        if (spacePrefix) Append(SpaceMark, -1);
        for (int i = start; i < start + length; i++)
            if (raw[i] == (byte)' ') Append(SpaceMark, charAt[i]);
            else Append([raw[i]], charAt[i]);
        var escaped = bytes.ToArray();

        // The characters, by llama.cpp's rule: the length of a UTF-8 character from its lead byte, cut at the end.
        var symbols = new List<(int Start, int Length)>();
        for (int i = 0; i < escaped.Length; i += symbols[^1].Length)
            symbols.Add((i, Math.Min(Utf8Length(escaped[i]), escaped.Length - i)));
        if (symbols.All(c => Encodable(escaped.AsSpan(c.Start, c.Length)))) return;

        // Some character is neither a token nor covered by byte tokens; it is still encoded if a merge takes it into a
        // token. Run the session's merges (highest score first, leftmost on ties) and look at what stays on its own.
        foreach (var (at, n) in Merge(escaped, symbols))
            if (!Encodable(escaped.AsSpan(at, n)))
            {
                int position = origin[at];
                if (position < 0)
                    throw Fail($"the model adds a leading space, written '{SpaceText}', which its vocabulary cannot encode (no token and no byte tokens for it)");
                bool isSpace = raw.Length > 0 && text[position] == ' ';
                throw Fail($"the model's vocabulary cannot encode {Describe(text, position)}{(isSpace ? $" (written '{SpaceText}')" : "")}: it has no token for it and no byte tokens (<0xHH>) for its bytes");
            }
    }

    /// <summary>
    /// llama.cpp's SentencePiece merges over <paramref name="symbols"/>: repeatedly join the adjacent pair whose
    /// concatenation is the highest-scoring token (the leftmost among equal scores), until no pair is a token. Returns the
    /// final pieces (start, length) in order.
    /// </summary>
    private List<(int Start, int Length)> Merge(byte[] text, List<(int Start, int Length)> symbols)
    {
        int count = symbols.Count;
        var start = symbols.Select(x => x.Start).ToArray();
        var length = symbols.Select(x => x.Length).ToArray();
        var prev = Enumerable.Range(-1, count).ToArray();
        var next = Enumerable.Range(1, count).Select(i => i == count ? -1 : i).ToArray();
        // Highest score first, then the leftmost (the order of llama.cpp's queue).
        var queue = new PriorityQueue<(int Left, int Right, int Size), (float, int)>(Comparer<(float Score, int Left)>.Create((a, b) =>
            a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left)));
        void TryAdd(int left, int right)
        {
            if (left < 0 || right < 0) return;
            int size = length[left] + length[right];
            if (Score(text.AsSpan(start[left], size)) is float score) queue.Enqueue((left, right, size), (score, left));
        }
        for (int i = 1; i < count; i++) TryAdd(i - 1, i);
        while (queue.TryDequeue(out var bigram, out _))
        {
            var (left, right, size) = bigram;
            if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != size) continue; // stale
            length[left] += length[right];
            length[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) prev[next[right]] = left;
            TryAdd(prev[left], left);
            TryAdd(left, next[left]);
        }
        var pieces = new List<(int Start, int Length)>();
        for (int i = 0; i >= 0; i = next[i]) pieces.Add((start[i], length[i]));
        return pieces;
    }

    /// <summary>The score of the token spelled <paramref name="piece"/>, or null if no token is.</summary>
    private float? Score(ReadOnlySpan<byte> piece)
    {
        _ids ??= BuildIds();
        return _ids.TryGetValue(Encoding.Latin1.GetString(piece), out int id) ? (_scores is { } s ? (float)s[id] : 0f) : null;
    }

    private Dictionary<string, int> BuildIds()
    {
        var ids = new Dictionary<string, int>(_entries.Length, StringComparer.Ordinal);
        for (int i = 0; i < _entries.Length; i++) ids.TryAdd(Encoding.Latin1.GetString(_entries[i]), i);
        return ids;
    }

    private void CheckBytePairs(string text, byte[] raw, List<int> charAt, int start, int length)
    {
        for (int i = start; i < start + length; i++)
            if (!_tokens.Contains(ByteStandIns[raw[i]]))
                throw Fail($"the model's vocabulary cannot encode {Describe(text, charAt[i])}: byte 0x{raw[i]:X2} has no token (llama.cpp would drop it silently)");
    }

    /// <summary>A piece is a token, or each of its bytes has a byte token — &lt;0xHH&gt;, or the byte itself (byte 0:
    /// the empty string, as llama.cpp looks it up as a C string).</summary>
    private bool Encodable(ReadOnlySpan<byte> piece)
    {
        if (_tokens.Contains(Encoding.Latin1.GetString(piece))) return true;
        foreach (byte b in piece)
            if (!_tokens.Contains($"<0x{b:X2}>") && !_tokens.Contains(b == 0 ? "" : ((char)b).ToString())) return false;
        return true;
    }

    private static int Utf8Length(byte lead) => (lead >> 4) switch { < 12 => 1, 12 or 13 => 2, 14 => 3, _ => 4 };

    private static string Describe(string text, int index)
    {
        // A lone surrogate reaches llama.cpp as U+FFFD.
        int cp = char.IsSurrogatePair(text, index) ? char.ConvertToUtf32(text, index) : char.IsSurrogate(text[index]) ? 0xFFFD : text[index];
        string shown = cp < 0x20 || cp is >= 0x7F and < 0xA0 ? "" : $"'{char.ConvertFromUtf32(cp)}' ";
        return $"the character {shown}(U+{cp:X4}) at position {index} of the text";
    }

    private InputException Fail(string what) => new($"{_path}: {what}");

    /// <summary>GPT-2's byte-to-character map: printable Latin-1 bytes stand for themselves, the others for U+0100 onwards.</summary>
    private static string[] BuildByteStandIns()
    {
        var map = new string[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(char.ConvertFromUtf32(printable ? b : next++)));
        }
        return map;
    }
}
