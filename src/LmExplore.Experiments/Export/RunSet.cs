using LmExplore.Runs;
using System.Text;
using System.Text.Json;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Experiments.Export;

/// <summary>The runs read from a sweep directory or a JSON-lines file, and a description of where they came from.</summary>
/// <param name="Records">The runs, sorted by key (lines of <c>run --out</c> have no key: their key is empty and they keep file order).</param>
/// <param name="Source">The path read.</param>
/// <param name="Name">The sweep's name (from its manifest), or the file name.</param>
/// <param name="Expected">Runs the sweep has (a directory with a manifest), or null when unknown.</param>
public sealed record RunSet(IReadOnlyList<SweepRecord> Records, string Source, string Name, int? Expected)
{
    /// <summary>
    /// Reads runs from a sweep directory (every <c>results*.jsonl</c>, checked against its <c>manifest.json</c> as
    /// <c>merge</c> does, missing runs allowed) or from one JSON-lines file: a sweep's results, a merged file, or
    /// lines appended by <c>run --out</c>. A torn last line is ignored. Bad input throws <see cref="InputException"/>.
    /// </summary>
    public static RunSet Load(string path)
    {
        if (Directory.Exists(path))
        {
            if (SweepManifest.TryRead(path) is null)
                throw new InputException($"{path}: no {SweepManifest.FileName} (not a sweep directory; give a results .jsonl file instead)");
            var merged = SweepMerge.Merge([path]);
            if (merged.Records.Count == 0) throw new InputException($"{path}: the sweep has no finished runs yet");
            return new RunSet(merged.Records, path, merged.Plan.Config.Name, merged.Expected);
        }
        if (!File.Exists(path)) throw new InputException($"'{path}' is neither a sweep directory nor a results file");
        LmExplore.Instances.InputPath.Check(path);
        var records = ReadLines(path);
        if (records.Count == 0) throw new InputException($"{path}: no run results in it");
        return new RunSet(records, path, Path.GetFileNameWithoutExtension(path), null);
    }

    /// <summary>Reads a JSON-lines file of results; lines with and without <c>key</c>/<c>params</c> are both accepted.</summary>
    private static List<SweepRecord> ReadLines(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllText(path, Encoding.UTF8).Split('\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"cannot read {path}: {e.Message}");
        }
        int last = Array.FindLastIndex(lines, l => l.Trim().Length > 0);
        var records = new List<SweepRecord>();
        for (int i = 0; i <= last; i++)
        {
            var text = lines[i].Trim();
            if (text.Length == 0) continue;
            try
            {
                records.Add(ParseLine(text));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // A kill mid-write can tear only the last line (the writers append one line per write); anything earlier is corruption.
                if (i == lines.Length - 1) break; // no newline after it: torn
                throw new InputException($"{path}: line {i + 1} is not a run result ({e.Message.Split('\n')[0]})");
            }
        }
        bool keyed = records.All(r => r.Key.Length > 0);
        return keyed ? records.OrderBy(r => r.Key, StringComparer.Ordinal).ToList() : records;
    }

    private static SweepRecord ParseLine(string line)
    {
        using (var doc = JsonDocument.Parse(line))
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("key", out _))
                return ResultLines.Parse(line);
        return new SweepRecord("", new Dictionary<string, string>(), RunResultJson.Parse(line));
    }
}
