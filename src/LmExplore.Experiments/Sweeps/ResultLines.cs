using LmExplore.Runs;
using System.Text;
using System.Text.Json;

namespace LmExplore.Experiments.Sweeps;

/// <summary>One line of a sweep's results file: the run key, its settings and the run result.</summary>
public sealed record SweepRecord(string Key, IReadOnlyDictionary<string, string> Settings, RunResult Result);

/// <summary>
/// The JSON-lines format of sweep results: one object per line, <c>{"key": …, "params": {…}, &lt;RunResultJson fields&gt;}</c>.
/// Reading tolerates a torn last line (a kill mid-write) and can truncate it away before appending.
/// </summary>
public static class ResultLines
{
    /// <summary>Formats a record as one line (no trailing newline).</summary>
    public static string Format(string key, IReadOnlyDictionary<string, string> settings, RunResult result)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("key", key);
            w.WriteStartObject("params");
            foreach (var (k, v) in settings.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        // Splice the result's fields after ours so the line is one flat object in RunResultJson's field order.
        var head = Encoding.UTF8.GetString(stream.ToArray());
        var body = RunResultJson.Serialize(result);
        return head[..^1] + "," + body[1..];
    }

    /// <summary>Parses one line; throws <see cref="JsonException"/> (or <see cref="KeyNotFoundException"/>, <see cref="InvalidOperationException"/>) when malformed.</summary>
    public static SweepRecord Parse(string line)
    {
        var result = RunResultJson.Parse(line);
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        var key = root.GetProperty("key").GetString() ?? throw new JsonException("key is null");
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        if (root.TryGetProperty("params", out var ps))
            foreach (var p in ps.EnumerateObject()) settings[p.Name] = p.Value.GetString() ?? "";
        return new SweepRecord(key, settings, result);
    }

    /// <summary>
    /// Reads a results file. A last line without its newline or that does not parse is torn (the writer was
    /// killed mid-line): with <paramref name="repair"/> the file is truncated to the end of the last whole line,
    /// otherwise it is ignored. A malformed line before the last is corruption: <see cref="InputException"/>.
    /// </summary>
    public static List<SweepRecord> Read(string path, bool repair, out bool tornTail)
    {
        tornTail = false;
        var records = new List<SweepRecord>();
        if (!File.Exists(path)) return records;
        LmExplore.Instances.InputPath.Check(path);
        byte[] bytes = File.ReadAllBytes(path);
        int start = 0, lineNumber = 0;
        long goodEnd = 0;
        while (start < bytes.Length)
        {
            int nl = Array.IndexOf(bytes, (byte)'\n', start);
            bool complete = nl >= 0;
            int end = complete ? nl : bytes.Length;
            lineNumber++;
            var text = Encoding.UTF8.GetString(bytes, start, end - start).Trim();
            bool isLast = !complete || nl == bytes.Length - 1;
            if (text.Length > 0)
            {
                SweepRecord? record = null;
                if (complete || !isLast)
                {
                    try { record = Parse(text); }
                    catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
                    {
                        if (!isLast) throw new InputException($"{path}: line {lineNumber} is not a result line ({e.Message.Split('\n')[0]}); the file is corrupt");
                    }
                }
                if (record is null)
                {
                    tornTail = true;
                    break;
                }
                records.Add(record);
            }
            goodEnd = complete ? nl + 1 : bytes.Length;
            start = end + 1;
        }
        if (tornTail && repair)
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
            fs.SetLength(goodEnd);
            fs.Flush(flushToDisk: true);
        }
        return records;
    }
}
