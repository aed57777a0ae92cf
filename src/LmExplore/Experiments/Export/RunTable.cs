using System.Globalization;
using System.Text;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Experiments.Export;

/// <summary>
/// A column of a <see cref="RunTable"/>: numeric columns hold <see cref="double"/> cells (<see cref="long"/> for
/// counts, <see cref="ulong"/> for seeds, so they stay exact), text columns strings; null is missing.
/// </summary>
/// <param name="Name">Column name.</param>
/// <param name="Numeric">True when every present cell is a number.</param>
/// <param name="Cells">One cell per run.</param>
public sealed record RunColumn(string Name, bool Numeric, IReadOnlyList<object?> Cells);

/// <summary>
/// Runs as one flat, typed table (bsuite style: one row per run, loads into a data frame in one call):
/// <c>key</c>; every setting as <c>param_&lt;name&gt;</c> (e.g. <c>param_instance.ccov</c>); the fields of
/// <c>run --json</c>; every diagnostics key as <c>diag_&lt;key&gt;</c>. A setting column is numeric when all its
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
        columns.Add(Text("instance", records.Select(r => r.Result.Instance)));
        columns.Add(Text("algorithm", records.Select(r => r.Result.Algorithm)));
        // Seeds are 64-bit unsigned: kept exact as integers, not rounded through double.
        columns.Add(new RunColumn("seed", true, records.Select(r => (object?)r.Result.Seed).ToList()));
        columns.Add(Number("beta", records.Select(r => r.Result.Beta)));
        columns.Add(Count("d", records.Select(r => (long)r.Result.D)));
        columns.Add(Text("status", records.Select(r => r.Result.Status)));
        columns.Add(Count("T_data", records.Select(r => r.Result.TData)));
        columns.Add(Count("T_comp", records.Select(r => r.Result.TComp)));
        columns.Add(Count("T_tokens", records.Select(r => r.Result.TTokens)));
        columns.Add(Number("J_opt", records.Select(r => r.Result.JOpt)));
        columns.Add(Number("J_ref", records.Select(r => r.Result.JRef)));
        columns.Add(Number("J_out", records.Select(r => r.Result.JOut)));
        columns.Add(Number("suboptimality", records.Select(r => r.Result.Suboptimality)));
        columns.Add(Number("output_sample_cost", records.Select(r => r.Result.OutputSampleCost)));
        columns.Add(Number("C_cov", records.Select(r => r.Result.CCov)));
        columns.Add(Number("C_cond", records.Select(r => r.Result.CCond ?? double.NaN)));
        columns.Add(Number("wall_seconds", records.Select(r => r.Result.WallSeconds)));
        foreach (var key in records.SelectMany(r => r.Result.Diagnostics.Keys).Distinct().Order(StringComparer.Ordinal))
            columns.Add(Number("diag_" + key, records.Select(r => r.Result.Diagnostics.TryGetValue(key, out var v) ? v : double.NaN)));
        return new RunTable(columns, records.Count);
    }

    /// <summary>
    /// The table as CSV (RFC 4180, header row, <c>\n</c> line ends): numbers in shortest round-trip invariant form
    /// (integers without exponent), infinities as <c>inf</c>/<c>-inf</c>, missing values as empty cells, text quoted
    /// when it holds a comma, quote or line break. pandas' <c>read_csv</c> types every numeric column as a number.
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
        ulong u => u.ToString(CultureInfo.InvariantCulture),
        string s => CsvField(s),
        _ => CsvField(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    /// <summary>A number as CSV text: empty for NaN, <c>inf</c>/<c>-inf</c>, integers below 1e15 without exponent, else round-trip form.</summary>
    public static string FormatNumber(double x) =>
        double.IsNaN(x) ? "" : double.IsPositiveInfinity(x) ? "inf" : double.IsNegativeInfinity(x) ? "-inf" : SweepConfig.FormatNumber(x);

    /// <summary>Quotes a CSV field when it holds a comma, a quote or a line break.</summary>
    public static string CsvField(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    private static RunColumn Count(string name, IEnumerable<long> values) => new(name, true, values.Select(v => (object?)v).ToList());

    private static RunColumn Text(string name, IEnumerable<string?> values) => new(name, false, values.Select(v => (object?)v).ToList());

    private static RunColumn Number(string name, IEnumerable<double?> values) =>
        new(name, true, values.Select(v => v is double d && !double.IsNaN(d) ? (object?)d : null).ToList());

    private static RunColumn Number(string name, IEnumerable<double> values) => Number(name, values.Select(v => (double?)v));

    private static double? ParseNumber(string? text) =>
        text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x : null;
}
