namespace LmExplore.Experiments.Sweeps;

/// <summary>
/// Which runs of a sweep are due, given the runs finished so far. Runs of unscanned entries are always due. The runs of
/// one scan (<see cref="SweepRun.ScanGroup"/>) are due one level at a time, in increasing order of the scanned value:
/// a level is released only when every run of the level below it has finished without ⌈(1 − scanDelta)·seeds⌉ of them
/// reaching ε; once a level has, the scan stops and its larger values are skipped. This is what <c>lmexplore frontier</c>
/// does, as a sweep: the answer comes from the runs, not from a window chosen around it, and a resumed, sharded or
/// re-parallelized sweep runs exactly the same runs because every result depends only on its run's key.
/// Not thread-safe: the engine calls it under its own lock.
/// </summary>
internal sealed class ScanSchedule
{
    private readonly int _required;
    private readonly Dictionary<string, List<List<SweepRun>>> _levels = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _finished;       // key → reached ε
    private readonly HashSet<string> _skipped = new(StringComparer.Ordinal);
    private readonly List<SweepRun> _initial = [];

    /// <summary>Builds the schedule for <paramref name="runs"/> (one shard, or the whole plan) with the runs already
    /// finished (<paramref name="finished"/>: key → whether it reached ε).</summary>
    public ScanSchedule(IEnumerable<SweepRun> runs, int required, IReadOnlyDictionary<string, bool> finished)
    {
        _required = required;
        _finished = new Dictionary<string, bool>(finished, StringComparer.Ordinal);
        var scans = new SortedDictionary<string, SortedDictionary<int, List<SweepRun>>>(StringComparer.Ordinal);
        foreach (var run in runs)
        {
            if (run.ScanGroup is not string group)
            {
                if (!_finished.ContainsKey(run.Key)) _initial.Add(run);
                continue;
            }
            if (!scans.TryGetValue(group, out var byLevel)) scans[group] = byLevel = [];
            if (!byLevel.TryGetValue(run.ScanLevel, out var level)) byLevel[run.ScanLevel] = level = [];
            level.Add(run);
        }
        foreach (var (group, byLevel) in scans)
        {
            _levels[group] = [.. byLevel.Values];
            _current[group] = 0;
            _initial.AddRange(Advance(group));
        }
        _initial.Sort((a, b) => a.Index.CompareTo(b.Index));
    }

    /// <summary>The runs due at the start, in plan order.</summary>
    public IReadOnlyList<SweepRun> Initial => _initial;

    /// <summary>Runs that will not run because their scan stopped below them.</summary>
    public IReadOnlySet<string> Skipped => _skipped;

    /// <summary>Records a finished run; returns the runs it makes due (the next level of its scan, if any).</summary>
    public IReadOnlyList<SweepRun> Complete(SweepRun run, bool reachedEpsilon)
    {
        _finished[run.Key] = reachedEpsilon;
        return run.ScanGroup is string group ? Advance(group) : [];
    }

    /// <summary>Moves a scan past its finished levels; returns the unfinished runs of the level it stops at (none while
    /// that level still has runs in flight — they were released before).</summary>
    private List<SweepRun> Advance(string group)
    {
        var levels = _levels[group];
        while (_current[group] < levels.Count)
        {
            var level = levels[_current[group]];
            var open = level.Where(r => !_finished.ContainsKey(r.Key)).ToList();
            if (open.Count > 0) return ReleasedAlready(group) ? [] : Release(group, open);
            int reached = level.Count(r => _finished[r.Key]);
            if (reached >= _required)
            {
                for (int k = _current[group] + 1; k < levels.Count; k++)
                    foreach (var r in levels[k]) _skipped.Add(r.Key);
                _current[group] = levels.Count;
                return [];
            }
            _current[group]++;
        }
        return [];
    }

    private readonly Dictionary<string, int> _released = new(StringComparer.Ordinal);

    private bool ReleasedAlready(string group) => _released.TryGetValue(group, out int level) && level == _current[group];

    private List<SweepRun> Release(string group, List<SweepRun> open)
    {
        _released[group] = _current[group];
        return open;
    }
}
