using System.Globalization;
using System.Text.Json;

namespace LmExplore.Experiments.Sweeps;

/// <summary>
/// A budget that may depend on the run's settings: a constant, or <c>times × Π of</c> where
/// <c>of</c> names grid parameters, fixed parameters or free variables of the same run
/// (e.g. <c>{"times": 2000, "of": "ccov"}</c> = 2000·ccov). The product is rounded up to an integer.
/// No other arithmetic exists on purpose: it is enough for "budget proportional to a grid
/// parameter" and cannot run arbitrary code.
/// </summary>
public sealed record BudgetSpec(double Times, IReadOnlyList<string> Of)
{
    /// <summary>Evaluates the budget for one run, or throws <see cref="InputException"/> naming <paramref name="jsonPath"/>.</summary>
    public long Evaluate(IReadOnlyDictionary<string, string> variables, string jsonPath)
    {
        double value = Times;
        foreach (var name in Of)
        {
            if (!variables.TryGetValue(name, out var text))
                throw new InputException($"{jsonPath}.of: '{name}' is not a parameter or variable of this run");
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                throw new InputException($"{jsonPath}.of: '{name}' = '{text}' is not a number");
            value *= v;
        }
        if (!double.IsFinite(value) || value < 0 || value > 9e18)
            throw new InputException($"{jsonPath}: evaluates to {value.ToString("R", CultureInfo.InvariantCulture)}, not a budget in [0, 9e18]");
        return (long)Math.Ceiling(value - 1e-9 * Math.Max(1, value)); // tolerate 2000·0.1 = 200.00000000000003
    }

    /// <summary>Canonical text, used in run keys.</summary>
    public string Describe(long value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One algorithm entry of a sweep: fixed parameters, an optional grid of its own, optional budget overrides.</summary>
/// <param name="Name">Algorithm name passed to the runner (<c>spanner</c>, <c>passive</c>, …).</param>
/// <param name="Label">Series label (defaults to the name; lets one algorithm appear twice with different settings).</param>
/// <param name="Params">Fixed algorithm parameters.</param>
/// <param name="Grid">Algorithm-parameter grid (cartesian product, per this entry).</param>
/// <param name="Vars">Free-variable grid for this entry (only used in budgets and keys).</param>
/// <param name="BudgetComp">Compute budget override (null: the sweep default).</param>
/// <param name="BudgetData">Data budget override.</param>
/// <param name="BudgetTokens">Token budget override.</param>
/// <param name="Index">Position in the config's list (for error paths).</param>
/// <param name="Scan">A variable of <paramref name="Vars"/> scanned upward as a budget (see docs/EXPERIMENTS.md): its values
/// run in increasing order, all seeds at once, and the scan stops at the first value at which ⌈(1 − scanDelta)·seeds⌉ runs
/// reached ε; the larger values are skipped. Null: every run of the grid runs.</param>
public sealed record SweepAlgorithm(
    string Name,
    string Label,
    IReadOnlyDictionary<string, string> Params,
    IReadOnlyList<GridAxis> Grid,
    IReadOnlyList<GridAxis> Vars,
    Optional<BudgetSpec> BudgetComp,
    Optional<BudgetSpec> BudgetData,
    Optional<BudgetSpec> BudgetTokens,
    int Index,
    string? Scan = null)
{
    /// <summary>Restricts this entry to the instance-grid points whose values are listed here (<c>"only": {"horizon": [2, 4]}</c>);
    /// empty: every point.</summary>
    public IReadOnlyList<GridAxis> Only { get; init; } = [];

    /// <summary>Whether this entry runs at the instance-grid point <paramref name="point"/>.</summary>
    public bool RunsAt(IReadOnlyList<(string Name, string Value)> point) =>
        Only.All(axis => point.Any(p => p.Name == axis.Name && axis.Values.Contains(p.Value)));
}

/// <summary>A named list of values; a grid is the cartesian product of its axes.</summary>
public sealed record GridAxis(string Name, IReadOnlyList<string> Values);

/// <summary>A value that may be absent (not set), explicitly null (no budget) or set.</summary>
public readonly record struct Optional<T>(bool IsSet, T? Value) where T : class
{
    /// <summary>Not set: inherit the default.</summary>
    public static Optional<T> Unset => default;
}

/// <summary>
/// A sweep as data (<c>lmexplore.sweep/v1</c>): an instance family or file, fixed instance parameters,
/// a grid of instance parameters, free variables, algorithms, budgets, replicate seeds and a sweep seed.
/// See docs/EXPERIMENTS.md for the format.
/// </summary>
public sealed record SweepConfig(
    string Name,
    ulong SweepSeed,
    string Instance,
    IReadOnlyDictionary<string, string> InstanceParams,
    IReadOnlyList<GridAxis> Grid,
    IReadOnlyList<GridAxis> Vars,
    IReadOnlyList<SweepAlgorithm> Algorithms,
    IReadOnlyList<long> Seeds,
    Optional<BudgetSpec> BudgetComp,
    Optional<BudgetSpec> BudgetData,
    Optional<BudgetSpec> BudgetTokens,
    string Json,
    double ScanDelta = 0.1)
{
    /// <summary>Runs of a scan level that must reach ε for the scan to stop there: ⌈(1 − scanDelta)·seeds⌉.</summary>
    public int ScanRequired => Frontier.BudgetToEpsilon.RequiredSuccesses(ScanDelta, Seeds.Count);

    /// <summary>The format tag.</summary>
    public const string Format = "lmexplore.sweep/v1";

    /// <summary>Reads a config file; bad input throws <see cref="InputException"/> naming the file and the JSON path.</summary>
    public static SweepConfig Load(string path)
    {
        if (Directory.Exists(path)) throw new InputException($"sweep config '{path}' is a directory, not a file");
        if (!File.Exists(path)) throw new InputException($"sweep config '{path}' does not exist");
        LmExplore.Instances.InputPath.Check(path, "sweep config");
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"sweep config '{path}': cannot read ({e.Message.ReplaceLineEndings(" ")})");
        }
        try
        {
            return Parse(json, path);
        }
        catch (InputException e) when (!e.Message.StartsWith(path + ":", StringComparison.Ordinal))
        {
            // Parse names the JSON path; the user also needs to know which file it is in.
            throw new InputException($"{path}: {e.Message}");
        }
    }

    /// <summary>Parses a config; bad input throws <see cref="InputException"/> naming the JSON path.</summary>
    public static SweepConfig Parse(string json, string source = "sweep config")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new InputException($"{source}: not valid JSON (line {e.LineNumber + 1}): {FirstLine(e.Message)}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InputException("$: a sweep config must be a JSON object");
            CheckNoDuplicateKeys(root, "$");
            CheckKeys(root, "$", ["format", "name", "sweepSeed", "instance", "instanceParams", "grid", "vars", "algorithms", "seeds", "budgetComp", "budgetData", "budgetTokens", "description", "scanDelta"]);
            var format = RequiredString(root, "format", "$");
            if (format != Format) throw new InputException($"$.format: unknown format '{format}' (expected '{Format}')");
            var name = root.TryGetProperty("name", out var n) ? String(n, "$.name") : "sweep";
            ulong sweepSeed = root.TryGetProperty("sweepSeed", out var s) ? UInt(s, "$.sweepSeed") : 0;
            var instance = RequiredString(root, "instance", "$");
            var instanceParams = root.TryGetProperty("instanceParams", out var ip) ? ParseParams(ip, "$.instanceParams") : new Dictionary<string, string>();
            var grid = root.TryGetProperty("grid", out var g) ? Axes(g, "$.grid") : [];
            var vars = root.TryGetProperty("vars", out var v) ? Axes(v, "$.vars") : [];
            foreach (var axis in grid)
                if (instanceParams.ContainsKey(axis.Name)) throw new InputException($"$.grid.{axis.Name}: also set in $.instanceParams");
            if (!root.TryGetProperty("algorithms", out var algos) || algos.ValueKind != JsonValueKind.Array || algos.GetArrayLength() == 0)
                throw new InputException("$.algorithms: required, a non-empty array");
            var algorithms = new List<SweepAlgorithm>();
            int i = 0;
            foreach (var a in algos.EnumerateArray()) algorithms.Add(Algorithm(a, $"$.algorithms[{i}]", i++));
            var labels = new HashSet<string>(StringComparer.Ordinal);
            foreach (var a in algorithms)
                if (!labels.Add(a.Label)) throw new InputException($"$.algorithms[{a.Index}].label: '{a.Label}' used twice (give each entry a distinct label)");
            var seeds = root.TryGetProperty("seeds", out var sd) ? ParseSeeds(sd, "$.seeds") : [0L];
            double scanDelta = 0.1;
            if (root.TryGetProperty("scanDelta", out var sdl))
            {
                if (sdl.ValueKind != JsonValueKind.Number || !sdl.TryGetDouble(out scanDelta) || !(scanDelta >= 0 && scanDelta < 1))
                    throw new InputException("$.scanDelta: expected a number in [0, 1)");
            }
            foreach (var algo in algorithms)
                foreach (var axis in algo.Only)
                    if (!grid.Any(g => g.Name == axis.Name))
                        throw new InputException($"$.algorithms[{algo.Index}].only.{axis.Name}: not an axis of $.grid");
            var config = new SweepConfig(name, sweepSeed, instance, instanceParams, grid, vars, algorithms, seeds,
                Budget(root, "budgetComp", "$"), Budget(root, "budgetData", "$"), Budget(root, "budgetTokens", "$"), root.GetRawText(), scanDelta);
            return config;
        }
    }

    private static SweepAlgorithm Algorithm(JsonElement a, string path, int index)
    {
        if (a.ValueKind == JsonValueKind.String)
        {
            var only = String(a, path);
            return new SweepAlgorithm(only, only, new Dictionary<string, string>(), [], [], Optional<BudgetSpec>.Unset, Optional<BudgetSpec>.Unset, Optional<BudgetSpec>.Unset, index);
        }
        if (a.ValueKind != JsonValueKind.Object) throw new InputException($"{path}: expected an object or an algorithm name");
        CheckKeys(a, path, ["name", "label", "params", "grid", "vars", "budgetComp", "budgetData", "budgetTokens", "scan", "only"]);
        var name = RequiredString(a, "name", path);
        var label = a.TryGetProperty("label", out var l) ? String(l, path + ".label") : name;
        if (label.Length == 0 || label.Any(c => c is '|' or '[' or ']' or ',' or '=' || char.IsWhiteSpace(c)))
            throw new InputException($"{path}.label: '{label}' must be non-empty without spaces or | [ ] , =");
        var ps = a.TryGetProperty("params", out var p) ? ParseParams(p, path + ".params") : new Dictionary<string, string>();
        var grid = a.TryGetProperty("grid", out var g) ? Axes(g, path + ".grid") : [];
        foreach (var axis in grid)
            if (ps.ContainsKey(axis.Name)) throw new InputException($"{path}.grid.{axis.Name}: also set in {path}.params");
        var vars = a.TryGetProperty("vars", out var v) ? Axes(v, path + ".vars") : [];
        var onlyAxes = a.TryGetProperty("only", out var o) ? Axes(o, path + ".only") : [];
        string? scan = null;
        if (a.TryGetProperty("scan", out var sc))
        {
            scan = String(sc, path + ".scan");
            var axis = vars.FirstOrDefault(x => x.Name == scan)
                ?? throw new InputException($"{path}.scan: '{scan}' is not one of this entry's vars ({(vars.Count == 0 ? "it has none" : string.Join(", ", vars.Select(x => x.Name)))})");
            foreach (var value in axis.Values)
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                    throw new InputException($"{path}.vars.{scan}: a scanned variable needs numbers (got '{value}')");
        }
        return new SweepAlgorithm(name, label, ps, grid, vars, Budget(a, "budgetComp", path), Budget(a, "budgetData", path), Budget(a, "budgetTokens", path), index, scan)
            { Only = onlyAxes };
    }

    private static Optional<BudgetSpec> Budget(JsonElement parent, string key, string parentPath)
    {
        if (!parent.TryGetProperty(key, out var e)) return Optional<BudgetSpec>.Unset;
        string path = $"{parentPath}.{key}";
        switch (e.ValueKind)
        {
            case JsonValueKind.Null:
                return new Optional<BudgetSpec>(true, null);
            case JsonValueKind.Number:
                return new Optional<BudgetSpec>(true, new BudgetSpec(NonNegative(e, path), []));
            case JsonValueKind.Object:
                CheckKeys(e, path, ["times", "of"]);
                double times = e.TryGetProperty("times", out var t) ? NonNegative(t, path + ".times") : 1.0;
                var of = new List<string>();
                if (e.TryGetProperty("of", out var o))
                {
                    if (o.ValueKind == JsonValueKind.String) of.Add(String(o, path + ".of"));
                    else if (o.ValueKind == JsonValueKind.Array)
                    {
                        int j = 0;
                        foreach (var item in o.EnumerateArray()) of.Add(String(item, $"{path}.of[{j++}]"));
                    }
                    else throw new InputException($"{path}.of: expected a name or a list of names");
                }
                return new Optional<BudgetSpec>(true, new BudgetSpec(times, of));
            default:
                throw new InputException($"{path}: expected a number, null or {{\"times\": k, \"of\": \"param\"}}");
        }
    }

    private static List<GridAxis> Axes(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new InputException($"{path}: expected an object of name → list of values");
        var axes = new List<GridAxis>();
        foreach (var p in e.EnumerateObject())
        {
            string ap = $"{path}.{p.Name}";
            CheckName(p.Name, ap);
            if (p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() == 0)
                throw new InputException($"{ap}: expected a non-empty list of values");
            var values = new List<string>();
            int j = 0;
            foreach (var item in p.Value.EnumerateArray())
            {
                var value = Scalar(item, $"{ap}[{j++}]");
                if (values.Contains(value)) throw new InputException($"{ap}: value {value} listed twice");
                values.Add(value);
            }
            axes.Add(new GridAxis(p.Name, values));
        }
        return axes;
    }

    private static Dictionary<string, string> ParseParams(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new InputException($"{path}: expected an object of name → value");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            CheckName(p.Name, $"{path}.{p.Name}");
            if (!result.TryAdd(p.Name, Scalar(p.Value, $"{path}.{p.Name}")))
                throw new InputException($"{path}.{p.Name}: set twice");
        }
        return result;
    }

    private static List<long> ParseSeeds(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (!e.TryGetInt32(out var count) || count < 1 || count > 100_000)
                throw new InputException($"{path}: a seed count must be an integer in [1, 100000]");
            return Enumerable.Range(0, count).Select(x => (long)x).ToList();
        }
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() == 0)
            throw new InputException($"{path}: expected a seed count or a non-empty list of integers");
        var seeds = new List<long>();
        int j = 0;
        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var seed) || seed < 0)
                throw new InputException($"{path}[{j}]: expected a non-negative integer");
            if (seeds.Contains(seed)) throw new InputException($"{path}[{j}]: seed {seed} listed twice");
            seeds.Add(seed);
            j++;
        }
        return seeds;
    }

    /// <summary>Canonical text of a parameter value: numbers in shortest round-trip invariant form, integers without exponent.</summary>
    public static string Scalar(JsonElement e, string path) => e.ValueKind switch
    {
        JsonValueKind.String => CheckValue(e.GetString()!, path),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        JsonValueKind.Number => CanonicalNumber(e, path),
        _ => throw new InputException($"{path}: expected a number, string or boolean"),
    };

    private static string CanonicalNumber(JsonElement e, string path)
    {
        if (!double.TryParse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !double.IsFinite(x))
            throw new InputException($"{path}: {e.GetRawText()} is not a finite number");
        return FormatNumber(x);
    }

    /// <summary>Formats a number canonically (invariant culture; integers below 1e15 without exponent).</summary>
    public static string FormatNumber(double x)
    {
        if (x == Math.Floor(x) && Math.Abs(x) < 1e15) return ((long)x).ToString(CultureInfo.InvariantCulture);
        return x.ToString("R", CultureInfo.InvariantCulture);
    }

    private static string CheckValue(string value, string path)
    {
        if (value.Length == 0 || value.Any(c => c is '|' or '[' or ']' or ',' || char.IsControl(c)))
            throw new InputException($"{path}: '{value}' must be non-empty without | [ ] , or control characters");
        return value;
    }

    private static void CheckName(string name, string path)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.'))
            throw new InputException($"{path}: name '{name}' must use only letters, digits, _ - .");
    }

    /// <summary>
    /// JSON parsers disagree on a repeated key (JsonDocument keeps both, lookups see one of them), so a config
    /// that sets a key twice would run a sweep its author did not read: refuse it, naming the key.
    /// </summary>
    private static void CheckNoDuplicateKeys(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in e.EnumerateObject())
            {
                if (!seen.Add(p.Name)) throw new InputException($"{path}: key '{p.Name}' appears twice (a JSON object needs distinct keys)");
                CheckNoDuplicateKeys(p.Value, $"{path}.{p.Name}");
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in e.EnumerateArray()) CheckNoDuplicateKeys(item, $"{path}[{i++}]");
        }
    }

    private static void CheckKeys(JsonElement e, string path, string[] allowed)
    {
        foreach (var p in e.EnumerateObject())
            if (Array.IndexOf(allowed, p.Name) < 0)
                throw new InputException($"{path}.{p.Name}: unknown key (allowed: {string.Join(", ", allowed)})");
    }

    private static string RequiredString(JsonElement parent, string key, string path)
    {
        if (!parent.TryGetProperty(key, out var e)) throw new InputException($"{path}.{key}: required");
        return String(e, $"{path}.{key}");
    }

    private static string String(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(e.GetString()))
            throw new InputException($"{path}: expected a non-empty string");
        return e.GetString()!;
    }

    private static ulong UInt(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetUInt64(out var x)) throw new InputException($"{path}: expected a non-negative integer");
        return x;
    }

    private static double NonNegative(JsonElement e, string path)
    {
        if (e.ValueKind != JsonValueKind.Number || !double.TryParse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) || !double.IsFinite(x) || x < 0)
            throw new InputException($"{path}: expected a finite non-negative number");
        return x;
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
