using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LmExplore.Instances;

/// <summary>
/// Strict, path-aware reading of instance files on top of <see cref="JsonDocument"/>. Every failure is a
/// one-line <see cref="InputException"/> of the form <c>file: $.json.path: what is wrong (got …)</c>.
/// Paths are only formatted when something fails, so the happy path stays allocation-light.
/// Rejected everywhere: duplicate keys, unknown keys, numbers written as strings, non-finite numbers
/// (NaN/Infinity tokens are not JSON; overflow such as 1e400 is caught explicitly).
/// </summary>
internal sealed class JsonInput
{
    /// <summary>The name used in messages (the path as the user gave it).</summary>
    public string File { get; }

    private JsonInput(string file) => File = file;

    /// <summary>An error for the given JSON path.</summary>
    public InputException Fail(string path, string what) => new($"{File}: {path}: {what}");

    /// <summary>Reads and parses <paramref name="path"/>; file-system and syntax errors become one-line messages.</summary>
    public static (JsonInput Input, JsonDocument Document) Open(string path)
    {
        var (input, bytes) = ReadFile(path);
        return (input, input.Parse(bytes));
    }

    /// <summary>An input for messages about <paramref name="path"/> (nothing is read).</summary>
    public static JsonInput Named(string path) => new(path);

    /// <summary>Reads the bytes of <paramref name="path"/> (not yet parsed); file-system errors become one-line messages.</summary>
    public static (JsonInput Input, byte[] Bytes) ReadFile(string path)
    {
        var input = new JsonInput(path);
        try
        {
            if (Directory.Exists(path)) throw new InputException($"{path}: is a directory, not an instance file");
            InputPath.Check(path); // a FIFO would block, a device would never end
            return (input, System.IO.File.ReadAllBytes(path));
        }
        catch (FileNotFoundException) { throw new InputException($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new InputException($"{path}: file not found (no such directory)"); }
        catch (UnauthorizedAccessException) { throw new InputException($"{path}: cannot read file (permission denied)"); }
        catch (IOException e) { throw new InputException($"{path}: cannot read file ({OneLine(e.Message)})"); }
    }

    /// <summary>Parses JSON bytes (a UTF-8 BOM is skipped).</summary>
    public JsonDocument Parse(ReadOnlyMemory<byte> bytes)
    {
        if (bytes.Span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        bool blank = true;
        foreach (byte b in bytes.Span)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) { blank = false; break; }
        if (blank) throw new InputException($"{File}: file is empty (expected a JSON object)");
        CheckUtf8(bytes.Span);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        }
        catch (JsonException)
        {
            throw DescribeSyntaxError(bytes.Span);
        }
        CheckEscapes(bytes.Span);
        return document;
    }

    /// <summary>
    /// System.Text.Json checks UTF-8 and \u escapes only when a string is materialised (then it throws
    /// InvalidOperationException, which would surface as an internal error): check both up front, in linear time.
    /// </summary>
    private void CheckUtf8(ReadOnlySpan<byte> bytes)
    {
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
        {
            int offset = 0;
            while (offset < bytes.Length && System.Text.Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) == System.Buffers.OperationStatus.Done)
                offset += consumed;
            bool utf16 = bytes.Length >= 2 && (bytes[0] is 0xFF or 0xFE || bytes[0] == 0 || bytes[1] == 0);
            throw new InputException(utf16
                ? $"{File}: $: not UTF-8 text (looks like UTF-16); save the instance file as UTF-8"
                : $"{File}: $: not valid UTF-8 text (first bad byte at offset {offset}); save the instance file as UTF-8");
        }
    }

    private void CheckEscapes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IndexOf("\\u"u8) < 0) return;   // no escapes: nothing more to check
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 64 });
        while (reader.Read())
        {
            if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.PropertyName) || !reader.ValueIsEscaped) continue;
            try { reader.GetString(); }
            catch (InvalidOperationException)
            {
                throw new InputException($"{File}: $: invalid JSON at line {CountLines(bytes[..(int)reader.TokenStartIndex]) + 1}: " +
                    "a string holds a \\u escape that is not valid Unicode (lone surrogate)");
            }
        }
    }

    private static int CountLines(ReadOnlySpan<byte> bytes) => System.MemoryExtensions.Count(bytes, (byte)'\n');

    /// <summary>Re-reads the bytes with a path-tracking reader to say where the syntax error is.</summary>
    private InputException DescribeSyntaxError(ReadOnlySpan<byte> bytes)
    {
        var frames = new List<(bool IsArray, int Index, string? Property)>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        try
        {
            // Array frames hold the index of the element being read, so an error points at that element.
            while (reader.Read())
            {
                var t = reader.TokenType;
                switch (t)
                {
                    case JsonTokenType.PropertyName: frames[^1] = (false, -1, reader.GetString()); break;
                    case JsonTokenType.StartObject: frames.Add((false, -1, null)); break;
                    case JsonTokenType.StartArray: frames.Add((true, 0, null)); break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        if (frames.Count > 0 && frames[^1].IsArray) frames[^1] = (true, frames[^1].Index + 1, null);
                        break;
                    default:
                        if (frames.Count > 0 && frames[^1].IsArray) frames[^1] = (true, frames[^1].Index + 1, null);
                        break;
                }
            }
            return new InputException($"{File}: $: invalid JSON");
        }
        catch (JsonException e)
        {
            var sb = new StringBuilder("$");
            foreach (var f in frames)
            {
                if (f.IsArray && f.Index >= 0) sb.Append('[').Append(f.Index).Append(']');
                else if (!f.IsArray && f.Property is not null) sb.Append('.').Append(f.Property);
            }
            string msg = e.Message;
            int cut = msg.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut >= 0) msg = msg[..cut];
            msg = OneLine(msg).TrimEnd('.');
            string where = e.LineNumber is long line ? $" at line {line + 1}, column {e.BytePositionInLine + 1}" : "";
            if (msg.Contains("Expected depth to be zero", StringComparison.Ordinal) || msg.Contains("does not contain any", StringComparison.Ordinal) || msg.Contains("reached end of data", StringComparison.Ordinal))
                msg = "file ends too early (truncated JSON?)";
            return new InputException($"{File}: {sb}: invalid JSON{where}: {msg}");
        }
    }

    private static string OneLine(string s) => s.Replace("\r", " ").Replace("\n", " ");

    /// <summary>JSON kind in words, for messages.</summary>
    public static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>A short rendering of a value for "(got …)".</summary>
    public static string Show(JsonElement e)
    {
        string raw = e.ValueKind switch
        {
            JsonValueKind.Object => "{…}",
            JsonValueKind.Array => "[…]",
            _ => e.GetRawText(),
        };
        return raw.Length > 40 ? raw[..37] + "…" : raw;
    }

    /// <summary>Checks that <paramref name="e"/> is an object whose keys are all in <paramref name="allowed"/>,
    /// none repeated; returns the values by key.</summary>
    public Dictionary<string, JsonElement> Fields(JsonElement e, string path, IReadOnlyList<string> allowed)
    {
        if (e.ValueKind != JsonValueKind.Object) throw Fail(path, $"must be an object (got {Kind(e)})");
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            if (!allowed.Contains(p.Name))
            {
                CheckUnknownKey(p.Name, path, allowed);
                continue;
            }
            if (!result.TryAdd(p.Name, p.Value)) throw Fail(Child(path, p.Name), "duplicate key");
        }
        return result;
    }

    /// <summary>
    /// Unknown keys are tolerated (annotations such as "comment" or "meta" are harmless) unless they look like
    /// a misspelt known key — same letters in another case, within edit distance 1 (2 for keys longer than 5; a swap of neighbours counts 1), or containing / contained
    /// in a known key — since a typo would otherwise silently drop a field (e.g. "nosie" → no noise).
    /// </summary>
    public void CheckUnknownKey(string key, string path, IReadOnlyList<string> allowed)
    {
        foreach (var known in allowed)
        {
            string k = key.ToLowerInvariant(), n = known.ToLowerInvariant();
            bool near = k == n || (Math.Min(k.Length, n.Length) >= 3 && (k.Contains(n, StringComparison.Ordinal) || n.Contains(k, StringComparison.Ordinal)))
                        || (n.Length >= 4 && EditDistance(k, n) <= (n.Length <= 5 ? 1 : 2));
            if (near) throw Fail(Child(path, key), $"unknown field (did you mean '{known}'? allowed here: {string.Join(", ", allowed)})");
        }
    }

    /// <summary>Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent transpositions).</summary>
    internal static int EditDistance(string a, string b)
    {
        if (Math.Abs(a.Length - b.Length) > 2) return 3;
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = Math.Min(v, d[i - 2, j - 2] + 1);
                d[i, j] = v;
            }
        return d[a.Length, b.Length];
    }

    /// <summary>The value of a required field.</summary>
    public JsonElement Required(Dictionary<string, JsonElement> fields, string path, string name)
        => fields.TryGetValue(name, out var v) ? v : throw Fail(Child(path, name), "missing (required field)");

    /// <summary>"$.a" + "b" → "$.a.b".</summary>
    public static string Child(string path, string name) => path + "." + name;

    /// <summary>"$.a" + 3 → "$.a[3]".</summary>
    public static string Index(string path, int i) => path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]";

    /// <summary>A finite double. Strings, overflow (1e400) and anything non-numeric are rejected.</summary>
    public double Number(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (e.TryGetDouble(out double v) && double.IsFinite(v)) return v;
            throw Fail(path, $"number out of range of a double (got {Show(e)})");
        }
        if (e.ValueKind == JsonValueKind.String) throw Fail(path, $"must be a number, not a string (got {Show(e)})");
        throw Fail(path, $"must be a number (got {Kind(e)})");
    }

    /// <summary>An integer in [min, max].</summary>
    public int Integer(JsonElement e, string path, int min, int max = int.MaxValue)
    {
        double v = Number(e, path);
        if (v != Math.Floor(v)) throw Fail(path, $"must be an integer (got {Show(e)})");
        if (v < min || v > max) throw Fail(path, max == int.MaxValue ? $"must be ≥ {min} (got {Show(e)})" : $"must be in [{min}, {max}] (got {Show(e)})");
        return (int)v;
    }

    /// <summary>A string.</summary>
    public string String(JsonElement e, string path)
        => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Fail(path, $"must be a string (got {Kind(e)})");

    /// <summary>An array (its length is returned).</summary>
    public int Array(JsonElement e, string path)
        => e.ValueKind == JsonValueKind.Array ? e.GetArrayLength() : throw Fail(path, $"must be an array (got {Kind(e)})");

    /// <summary>Reads an array of exactly <paramref name="destination"/>.Length finite numbers.</summary>
    public void Numbers(JsonElement e, string path, Span<double> destination, string lengthName)
    {
        int n = Array(e, path);
        if (n != destination.Length) throw Fail(path, $"has {n} numbers, but {lengthName} is {destination.Length}");
        int i = 0;
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Number && item.TryGetDouble(out double v) && double.IsFinite(v)) destination[i] = v;
            else destination[i] = Number(item, Index(path, i)); // throws with the precise reason
            i++;
        }
    }

    /// <summary>Formats a double for messages (shortest round-trip, invariant).</summary>
    public static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
