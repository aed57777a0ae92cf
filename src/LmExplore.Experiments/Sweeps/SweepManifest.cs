using System.Text;
using System.Text.Json;

namespace LmExplore.Experiments.Sweeps;

/// <summary>
/// <c>DIR/manifest.json</c>: which sweep a results directory belongs to (its hash), its run count and the
/// config itself, so <c>merge</c> can re-derive the expected run keys. The content does not depend on the
/// shard, so shards sharing a directory write identical manifests (atomically).
/// </summary>
public sealed record SweepManifest(string Hash, string Name, ulong SweepSeed, int Runs, string ConfigJson)
{
    /// <summary>The manifest file name inside a sweep directory.</summary>
    public const string FileName = "manifest.json";
    /// <summary>The format tag.</summary>
    public const string Format = "lmexplore.sweep-manifest/v1";

    /// <summary>The manifest of a plan.</summary>
    public static SweepManifest Of(SweepPlan plan) => new(plan.Hash, plan.Config.Name, plan.Config.SweepSeed, plan.Runs.Count, plan.Config.Json);

    /// <summary>Reads <c>DIR/manifest.json</c>, or null when absent; a malformed manifest is an <see cref="InputException"/>.</summary>
    public static SweepManifest? TryRead(string dir)
    {
        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return null;
        LmExplore.Instances.InputPath.Check(path);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var o = doc.RootElement;
            if (o.GetProperty("format").GetString() != Format) throw new InputException($"{path}: unknown manifest format");
            return new SweepManifest(o.GetProperty("configHash").GetString()!, o.GetProperty("name").GetString()!,
                o.GetProperty("sweepSeed").GetUInt64(), o.GetProperty("runs").GetInt32(), o.GetProperty("config").GetRawText());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InputException($"{path}: not a sweep manifest ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>Writes <c>DIR/manifest.json</c> atomically (temporary file in the same directory, then rename).</summary>
    public void Write(string dir)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("format", Format);
            w.WriteString("configHash", Hash);
            w.WriteString("name", Name);
            w.WriteNumber("sweepSeed", SweepSeed);
            w.WriteNumber("runs", Runs);
            w.WritePropertyName("config");
            using (var config = JsonDocument.Parse(ConfigJson, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }))
                config.RootElement.WriteTo(w);
            w.WriteEndObject();
        }
        AtomicFile.WriteAllBytes(Path.Combine(dir, FileName), stream.ToArray());
    }
}

/// <summary>Never a half-written file: write to a unique temporary file in the same directory, then rename over the target.</summary>
public static class AtomicFile
{
    /// <summary>Writes bytes atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        // The output rule of every writer (LmExplore.Instances.OutputPath): never over a FIFO or device, and through a
        // symbolic link to its final target.
        var full = LmExplore.Instances.OutputPath.Target(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>Writes UTF-8 text (no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text));
}
