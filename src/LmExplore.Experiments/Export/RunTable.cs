using LmExplore.Runs;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Experiments.Export;

/// <summary>
/// A column of a <see cref="RunTable"/>: numeric columns hold <see cref="double"/> cells (<see cref="long"/> for
/// integers such as counts, <see cref="ulong"/> for seeds beyond int64, so they stay exact); other columns hold
/// strings or <see cref="bool"/>s; null is missing.
/// </summary>
/// <param name="Name">Column name.</param>
/// <param name="Numeric">True when every present cell is a number.</param>
/// <param name="Cells">One cell per run.</param>
public sealed record RunColumn(string Name, bool Numeric, IReadOnlyList<object?> Cells);

/// <summary>
/// Runs as one flat, typed table (bsuite style: one row per run, loads into a data frame in one call):
/// <c>key</c>; every setting as <c>param_&lt;name&gt;</c> (e.g. <c>param_instance.ccov</c>); the fields of
/// <c>run --json</c> in their order (an array field as <c>_lo</c>/<c>_hi</c> or <c>_0</c>, <c>_1</c>, …);
/// every diagnostics key as <c>diag_&lt;key&gt;</c>. A setting column is numeric when all its
/// values are numbers. Missing values (a diagnostic one algorithm does not report, NaN) are null.
/// </summary>
public sealed class RunTable
{
    private RunTable(IReadOnlyList<RunColumn> columns, int rows)
    {
        Columns = columns;
        RowCount = rows;
    }

    /// <summary>The columns, in output order.</summary>
    public IReadOnlyList<RunColumn> Columns { get; }

    /// <summary>Number of runs.</summary>
    public int RowCount { get; }

    /// <summary>Builds the table of <paramref name="records"/>.</summary>
    public static RunTable Build(IReadOnlyList<SweepRecord> records)
    {
        var columns = new List<RunColumn> { Text("key", records.Select(r => r.Key.Length > 0 ? r.Key : null)) };
        foreach (var name in records.SelectMany(r => r.Settings.Keys).Distinct().Order(StringComparer.Ordinal))
        {
            var values = records.Select(r => r.Settings.TryGetValue(name, out var v) ? v : null).ToList();
            var numbers = values.Select(ParseNumber).ToList();
            bool numeric = values.All(v => v is null) || values.Zip(numbers).All(p => p.First is null || p.Second is not null);
            columns.Add(numeric ? Number("param_" + name, numbers) : Text("param_" + name, values));
        }
        // The result's fields come from its JSON form (RunResultJson), in that order: a field added to the result
        // becomes a column without a change here.
        columns.AddRange(ResultColumns(records.Select(r => RunResultJson.Serialize(r.Result)).ToList()));
        foreach (var key in records.SelectMany(r => r.Result.Diagnostics.Keys).Distinct().Order(StringComparer.Ordinal))
            columns.Add(Number("diag_" + key, records.Select(r => r.Result.Diagnostics.TryGetValue(key, out var v) ? v : double.NaN)));
        return new RunTable(columns, records.Count);
    }

    /// <summary>
    /// The table as CSV (RFC 4180, header row, <c>\n</c> line ends): numbers in shortest round-trip invariant form
    /// (integers without exponent), infinities as <c>inf</c>/<c>-inf</c>, missing values as empty cells, text quoted
    /// when it holds a comma, quote or line break, and prefixed with <c>'</c> when a spreadsheet would read it as a formula
    /// (<see cref="NeutralizeFormula"/>). pandas' <c>read_csv</c> types every numeric column as a number.
    /// </summary>
    public string ToCsv()
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', Columns.Select(c => CsvField(c.Name))).Append('\n');
        for (int i = 0; i < RowCount; i++)
        {
            for (int j = 0; j < Columns.Count; j++)
            {
                if (j > 0) sb.Append(',');
                sb.Append(Cell(Columns[j].Cells[i]));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string Cell(object? value) => value switch
    {
        null => "",
        double d => FormatNumber(d),
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        ulong u => u.ToString(CultureInfo.InvariantCulture),
        string s => CsvField(NeutralizeFormula(s)),
        _ => CsvField(NeutralizeFormula(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")),
    };

    /// <summary>
    /// A text cell that a spreadsheet would run as a formula — starting with <c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, a tab
    /// or a carriage return — gets a leading <c>'</c>, so that opening an export of untrusted results (labels, prompts,
    /// instance names) shows the text instead of evaluating it. Numbers are never text cells, so they stay numbers.
    /// </summary>
    public static string NeutralizeFormula(string s) => s.Length > 0 && s[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + s : s;

    /// <summary>A number as CSV text: empty for NaN, <c>inf</c>/<c>-inf</c>, integers below 1e15 without exponent, else round-trip form.</summary>
    public static string FormatNumber(double x) =>
        double.IsNaN(x) ? "" : double.IsPositiveInfinity(x) ? "inf" : double.IsNegativeInfinity(x) ? "-inf" : SweepConfig.FormatNumber(x);

    /// <summary>Quotes a CSV field when it holds a comma, a quote or a line break.</summary>
    public static string CsvField(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>The columns of the top-level fields (all but <c>diagnostics</c>) of JSON result objects, one per object.</summary>
    internal static List<RunColumn> ResultColumns(IReadOnlyList<string> resultJson)
    {
        var columns = new List<RunColumn>();
        var results = resultJson.Select(j => JsonDocument.Parse(j)).ToList();
        try
        {
            var names = new List<string>();
            foreach (var doc in results)
                foreach (var p in doc.RootElement.EnumerateObject())
                    if (p.Name != "diagnostics" && !names.Contains(p.Name)) names.Add(p.Name);
            foreach (var name in names)
            {
                var cells = results.Select(d => d.RootElement.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? e : (JsonElement?)null).ToList();
                int width = cells.Max(c => c is { ValueKind: JsonValueKind.Array } a ? a.GetArrayLength() : 0);
                if (width == 0) { columns.Add(FromJson(name, cells)); continue; }
                // An array field (an interval such as suboptimality_ci = [lo, hi]) becomes one column per element.
                for (int i = 0; i < width; i++)
                {
                    string suffix = width == 2 ? (i == 0 ? "_lo" : "_hi") : "_" + i.ToString(CultureInfo.InvariantCulture);
                    columns.Add(FromJson(name + suffix, cells.Select(c => c is { ValueKind: JsonValueKind.Array } a && i < a.GetArrayLength() ? a[i] : (JsonElement?)null)));
                }
            }
            return columns;
        }
        finally
        {
            foreach (var doc in results) doc.Dispose();
        }
    }

    /// <summary>
    /// A column from JSON values (null: missing): integers stay exact (int64, or uint64 beyond its range), other
    /// numbers are doubles, booleans stay booleans (a text column, <c>true</c>/<c>false</c>), anything else is text.
    /// </summary>
    private static RunColumn FromJson(string name, IEnumerable<JsonElement?> values)
    {
        var cells = values.ToList();
        var present = cells.Where(c => c is not null).Select(c => c!.Value).ToList();
        if (present.All(e => e.ValueKind == JsonValueKind.Number))
        {
            bool integral = present.All(e => e.GetRawText().IndexOfAny(['.', 'e', 'E']) < 0);
            if (integral && present.All(e => e.TryGetInt64(out _)))
                return new RunColumn(name, true, cells.Select(c => c is { } e ? (object?)e.GetInt64() : null).ToList());
            if (integral && present.All(e => e.TryGetUInt64(out _)))
                return new RunColumn(name, true, cells.Select(c => c is { } e ? (object?)e.GetUInt64() : null).ToList());
            return new RunColumn(name, true, cells.Select(c => c is { } e ? (object?)e.GetDouble() : null).ToList());
        }
        if (present.All(e => e.ValueKind is JsonValueKind.True or JsonValueKind.False))
            return new RunColumn(name, false, cells.Select(c => c is { } e ? (object?)(e.ValueKind == JsonValueKind.True) : null).ToList());
        return new RunColumn(name, false, cells.Select(c => c is { } e ? (object?)(e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()) : null).ToList());
    }

    private static RunColumn Text(string name, IEnumerable<string?> values) => new(name, false, values.Select(v => (object?)v).ToList());

    private static RunColumn Number(string name, IEnumerable<double?> values) =>
        new(name, true, values.Select(v => v is double d && !double.IsNaN(d) ? (object?)d : null).ToList());

    private static RunColumn Number(string name, IEnumerable<double> values) => Number(name, values.Select(v => (double?)v));

    private static double? ParseNumber(string? text) =>
        text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x : null;
}
