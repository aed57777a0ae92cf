using LmExplore.Runs;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LmExplore.Numerics;

namespace LmExplore.Experiments.Sweeps;

/// <summary>
/// One run of a sweep: its stable key (the canonical string of all its settings), its position in
/// the sorted key order, the request handed to the runner, and the flat settings map written beside
/// the result (<c>instance.*</c>, <c>algo.*</c>, <c>var.*</c>, <c>budget.*</c>, <c>label</c>, <c>replicate</c>).
/// </summary>
public sealed record SweepRun(string Key, int Index, string Label, long Replicate, RunRequest Request, IReadOnlyDictionary<string, string> Settings)
{
    /// <summary>For a run of a scanned entry: the scan it belongs to (its key without the scanned variable and the
    /// replicate); null otherwise.</summary>
    public string? ScanGroup { get; init; }

    /// <summary>For a run of a scanned entry: the rank of its value of the scanned variable (0 = smallest).</summary>
    public int ScanLevel { get; init; }

    /// <summary>A numeric setting (e.g. <c>instance.ccov</c>), or NaN when absent or not a number.</summary>
    public double Number(string setting) =>
        Settings.TryGetValue(setting, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : double.NaN;
}

/// <summary>
/// The expansion of a <see cref="SweepConfig"/>: every run, sorted by key, with its seed derived from
/// the sweep seed and the key only (<c>Rng.Mix(sweepSeed, HashString(key))</c>), so results do not
/// depend on parallelism, order or sharding. <see cref="Hash"/> identifies the sweep (same runs, same seeds).
/// </summary>
public sealed class SweepPlan
{
    private SweepPlan(SweepConfig config, List<SweepRun> runs)
    {
        Config = config;
        Runs = runs;
        ByKey = runs.ToDictionary(r => r.Key, StringComparer.Ordinal);
        var text = new StringBuilder();
        text.Append(SweepConfig.Format).Append('\n').Append(config.SweepSeed.ToString(CultureInfo.InvariantCulture)).Append('\n');
        foreach (var r in runs) text.Append(r.Key).Append(r.ScanGroup is null ? "" : " (scanned)").Append('\n');
        // Which runs run depends on the scan rule too (plans without scans keep their former hash).
        if (runs.Any(r => r.ScanGroup is not null)) text.Append("scanDelta=").Append(config.ScanDelta.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        Hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The config this plan expands.</summary>
    public SweepConfig Config { get; }
    /// <summary>All runs, sorted by key (ordinal).</summary>
    public IReadOnlyList<SweepRun> Runs { get; }
    /// <summary>Runs by key.</summary>
    public IReadOnlyDictionary<string, SweepRun> ByKey { get; }
    /// <summary>SHA-256 (hex) of the format, the sweep seed and the sorted run keys: two directories hold the same sweep iff their hashes agree.</summary>
    public string Hash { get; }

    /// <summary>Runs of shard <paramref name="shard"/>: those whose index in the sorted key order is ≡ i−1 (mod n).</summary>
    public IEnumerable<SweepRun> ShardRuns(Shard? shard)
    {
        if (shard is not Shard s) return Runs;
        // A scan stops on what its own runs found, so all levels of one scan go to the same shard.
        var groups = Runs.Where(r => r.ScanGroup is not null).Select(r => r.ScanGroup!).Distinct().Order(StringComparer.Ordinal)
            .Select((g, i) => (g, i)).ToDictionary(p => p.g, p => p.i, StringComparer.Ordinal);
        return Runs.Where(r => (r.ScanGroup is string g ? groups[g] : r.Index) % s.Count == s.Index - 1);
    }

    /// <summary>Whether any entry scans a variable (then not every run of the plan necessarily runs).</summary>
    public bool HasScans => Runs.Any(r => r.ScanGroup is not null);

    /// <summary>Expands a config into its runs; a budget expression naming an unknown parameter is an <see cref="InputException"/>.</summary>
    public static SweepPlan Create(SweepConfig config)
    {
        var runs = new List<SweepRun>();
        foreach (var instancePoint in Product(config.Grid))
        {
            var instanceParams = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var (k, v) in config.InstanceParams) instanceParams[k] = v;
            foreach (var (k, v) in instancePoint) instanceParams[k] = v;
            foreach (var algo in config.Algorithms.Where(a => a.RunsAt(instancePoint)))
            foreach (var algoPoint in Product(algo.Grid))
            {
                var algoParams = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (var (k, v) in algo.Params) algoParams[k] = v;
                foreach (var (k, v) in algoPoint) algoParams[k] = v;
                foreach (var varPoint in Product([.. config.Vars, .. algo.Vars]))
                {
                    var vars = new SortedDictionary<string, string>(StringComparer.Ordinal);
                    foreach (var (k, v) in varPoint) vars[k] = v;
                    // Budget expressions see every setting of the run by its plain name; variables shadow
                    // algorithm parameters, which shadow instance parameters.
                    var scope = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var (k, v) in instanceParams) scope[k] = v;
                    foreach (var (k, v) in algoParams) scope[k] = v;
                    foreach (var (k, v) in vars) scope[k] = v;
                    string at = $"$.algorithms[{algo.Index}]";
                    long? comp = Resolve(algo.BudgetComp, config.BudgetComp, scope, at, "budgetComp");
                    long? data = Resolve(algo.BudgetData, config.BudgetData, scope, at, "budgetData");
                    long? tokens = Resolve(algo.BudgetTokens, config.BudgetTokens, scope, at, "budgetTokens");
                    foreach (var replicate in config.Seeds)
                    {
                        var key = Key(config.Instance, instanceParams, algo, algoParams, comp, data, tokens, vars, replicate);
                        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal)
                        {
                            ["instance"] = config.Instance,
                            ["algorithm"] = algo.Name,
                            ["label"] = algo.Label,
                            ["replicate"] = replicate.ToString(CultureInfo.InvariantCulture),
                        };
                        foreach (var (k, v) in instanceParams) settings["instance." + k] = v;
                        foreach (var (k, v) in algoParams) settings["algo." + k] = v;
                        foreach (var (k, v) in vars) settings["var." + k] = v;
                        if (comp is long c) settings["budget.comp"] = c.ToString(CultureInfo.InvariantCulture);
                        if (data is long dd) settings["budget.data"] = dd.ToString(CultureInfo.InvariantCulture);
                        if (tokens is long t) settings["budget.tokens"] = t.ToString(CultureInfo.InvariantCulture);
                        ulong seed = Rng.Mix(config.SweepSeed, Rng.HashString(key));
                        var request = new RunRequest(config.Instance, new Dictionary<string, string>(instanceParams, StringComparer.Ordinal),
                            algo.Name, new Dictionary<string, string>(algoParams, StringComparer.Ordinal), seed, comp, data, tokens);
                        var run = new SweepRun(key, 0, algo.Label, replicate, request, settings);
                        if (algo.Scan is string scanned)
                        {
                            var others = new SortedDictionary<string, string>(vars.Where(kv => kv.Key != scanned).ToDictionary(), StringComparer.Ordinal);
                            run = run with
                            {
                                ScanGroup = Key(config.Instance, instanceParams, algo, algoParams, null, null, null, others, -1),
                                ScanLevel = ScanRank(algo, scanned, vars[scanned]),
                            };
                        }
                        runs.Add(run);
                    }
                }
            }
        }
        runs.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        for (int i = 0; i < runs.Count; i++) runs[i] = runs[i] with { Index = i };
        for (int i = 1; i < runs.Count; i++)
            if (runs[i].Key == runs[i - 1].Key)
                throw new InputException($"$.algorithms: two entries produce the same run '{runs[i].Key}' (give them distinct labels or parameters)");
        return new SweepPlan(config, runs);
    }

    /// <summary>The rank of <paramref name="value"/> among the distinct numeric values of the scanned variable.</summary>
    private static int ScanRank(SweepAlgorithm algo, string scanned, string value)
    {
        static double Number(string v) => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture);
        var values = algo.Vars.First(a => a.Name == scanned).Values.Select(Number).Distinct().Order().ToList();
        return values.IndexOf(Number(value));
    }

    private static long? Resolve(Optional<BudgetSpec> own, Optional<BudgetSpec> fallback, IReadOnlyDictionary<string, string> scope, string at, string name)
    {
        if (own.IsSet) return own.Value?.Evaluate(scope, $"{at}.{name}");
        if (fallback.IsSet) return fallback.Value?.Evaluate(scope, $"$.{name}");
        return null;
    }

    private static string Key(string instance, IReadOnlyDictionary<string, string> instanceParams, SweepAlgorithm algo,
        IReadOnlyDictionary<string, string> algoParams, long? comp, long? data, long? tokens, IReadOnlyDictionary<string, string> vars, long replicate)
    {
        var sb = new StringBuilder();
        sb.Append(instance);
        Bracket(sb, instanceParams);
        sb.Append('|').Append(algo.Label);
        if (algo.Label != algo.Name) sb.Append('=').Append(algo.Name);
        Bracket(sb, algoParams);
        sb.Append("|budget[comp=").Append(Budget(comp)).Append(",data=").Append(Budget(data)).Append(",tokens=").Append(Budget(tokens)).Append(']');
        if (vars.Count > 0)
        {
            sb.Append("|vars");
            Bracket(sb, vars);
        }
        sb.Append("|rep=").Append(replicate.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();

        static string Budget(long? b) => b is long x ? x.ToString(CultureInfo.InvariantCulture) : "-";
    }

    private static void Bracket(StringBuilder sb, IReadOnlyDictionary<string, string> values)
    {
        sb.Append('[');
        bool first = true;
        foreach (var (k, v) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!first) sb.Append(',');
            sb.Append(k).Append('=').Append(v);
            first = false;
        }
        sb.Append(']');
    }

    private static IEnumerable<IReadOnlyList<(string Name, string Value)>> Product(IReadOnlyList<GridAxis> axes)
    {
        IEnumerable<IReadOnlyList<(string, string)>> points = [[]];
        foreach (var axis in axes)
        {
            var current = points;
            points = current.SelectMany(p => axis.Values.Select(v => (IReadOnlyList<(string, string)>)[.. p, (axis.Name, v)]));
        }
        return points;
    }
}

/// <summary>A 1-based shard <c>i/n</c> of a sweep.</summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>Parses <c>i/n</c> with 1 ≤ i ≤ n.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || i < 1 || i > n)
            throw new InputException($"--shard expects i/n with 1 ≤ i ≤ n, got '{text}'");
        return new Shard(i, n);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Index}/{Count}";
}
