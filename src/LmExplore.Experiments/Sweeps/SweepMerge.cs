using LmExplore.Runs;
using System.Text;

namespace LmExplore.Experiments.Sweeps;

/// <summary>What <see cref="SweepMerge.Merge"/> found.</summary>
/// <param name="Records">One record per key, sorted by key.</param>
/// <param name="Expected">Runs the sweep has (less those its finished scans skipped).</param>
/// <param name="Duplicates">Keys found more than once with identical results (wall time aside); kept once.</param>
/// <param name="MissingKeys">Keys of the sweep found in no input.</param>
/// <param name="Plan">The sweep's plan (re-derived from the manifest's config).</param>
public sealed record MergeOutcome(IReadOnlyList<SweepRecord> Records, int Expected, int Duplicates, IReadOnlyList<string> MissingKeys, SweepPlan Plan);

/// <summary>
/// Combines the results of the shards of one sweep (directories written by <c>sweep --shard i/n</c>, or one
/// shared directory): refuses directories of different sweeps, drops exact duplicates, refuses conflicting
/// duplicates and reports missing runs.
/// </summary>
public static class SweepMerge
{
    /// <summary>Reads every <c>results*.jsonl</c> of every directory (torn last lines are ignored, not repaired).</summary>
    public static MergeOutcome Merge(IReadOnlyList<string> dirs)
    {
        if (dirs.Count == 0) throw new InputException("merge needs at least one sweep directory");
        SweepManifest? first = null;
        string? firstDir = null;
        var byKey = new Dictionary<string, SweepRecord>(StringComparer.Ordinal);
        int duplicates = 0;
        foreach (var dir in dirs)
        {
            if (!Directory.Exists(dir)) throw new InputException($"{dir}: not a directory");
            var manifest = SweepManifest.TryRead(dir) ?? throw new InputException($"{dir}: no {SweepManifest.FileName} (not a sweep directory)");
            if (first is null) { first = manifest; firstDir = dir; }
            else if (manifest.Hash != first.Hash)
                throw new InputException($"{dir} belongs to a different sweep than {firstDir} ('{manifest.Name}' {manifest.Hash[..12]}… vs '{first.Name}' {first.Hash[..12]}…); refusing to merge");
            foreach (var file in Directory.GetFiles(dir, "results*.jsonl").Order(StringComparer.Ordinal))
            foreach (var record in ResultLines.Read(file, repair: false, out _))
            {
                if (byKey.TryGetValue(record.Key, out var seen))
                {
                    if (!SameResult(seen.Result, record.Result))
                        throw new InputException($"{file}: run '{record.Key}' appears twice with different results; refusing to merge");
                    duplicates++;
                }
                else byKey[record.Key] = record;
            }
        }
        var plan = SweepPlan.Create(SweepConfig.Parse(first!.ConfigJson, $"{firstDir}/{SweepManifest.FileName}"));
        if (plan.Hash != first.Hash) throw new InputException($"{firstDir}/{SweepManifest.FileName}: its config does not reproduce its hash (written by another version?)");
        foreach (var key in byKey.Keys)
            if (!plan.ByKey.ContainsKey(key)) throw new InputException($"run '{key}' is not part of sweep '{first.Name}'");
        // Runs a finished scan skipped are not missing.
        var skipped = new ScanSchedule(plan.Runs, plan.Config.ScanRequired, byKey.ToDictionary(kv => kv.Key, kv => kv.Value.Result.ReachedEpsilon)).Skipped;
        var missing = plan.Runs.Where(r => !byKey.ContainsKey(r.Key) && !skipped.Contains(r.Key)).Select(r => r.Key).ToList();
        var records = byKey.Values.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        return new MergeOutcome(records, plan.Runs.Count - skipped.Count, duplicates, missing, plan);
    }

    /// <summary>How long <see cref="Write"/> waits for another writer of the output (an appending <c>run --out</c>) to finish.</summary>
    public static readonly TimeSpan LockWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Writes merged records (sorted by key) as JSON lines, atomically, under the output's <see cref="ResultsFileLock"/>:
    /// the rename must not replace a file another process is appending to (its lines would go to the replaced file).
    /// </summary>
    public static void Write(string path, IReadOnlyList<SweepRecord> records)
    {
        var sb = new StringBuilder();
        foreach (var r in records) sb.Append(ResultLines.Format(r.Key, r.Settings, r.Result)).Append('\n');
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        LmExplore.Instances.OutputPath.File(path, "--out", directoryMayBeCreated: true);
        LmExplore.Instances.OutputPath.CreateDirectory(dir, "--out");
        using var fileLock = ResultsFileLock.Acquire(path, "merge", LockWait);
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>Results equal up to wall time (which is the only field allowed to differ between reruns).</summary>
    public static bool SameResult(RunResult a, RunResult b) =>
        RunResultJson.Serialize(a with { WallSeconds = 0 }) == RunResultJson.Serialize(b with { WallSeconds = 0 });
}
