using System.Globalization;
using System.Text;
using LmExplore.Experiments.Sweeps;
using LmExplore.Figures;

namespace LmExplore.Experiments.Reproduce;

/// <summary>
/// An experiment of docs/EXPERIMENTS.md, bsuite style: the runs are data (a sweep config per mode), the analysis is a
/// separate pure function of the results. New experiments (E3 on <c>dnf</c>, E4 on <c>chain</c>) join by
/// implementing this and adding themselves to <see cref="ExperimentRegistry"/>.
/// </summary>
public interface IExperiment
{
    /// <summary>Short id, e.g. "E1" (also the output sub-directory).</summary>
    string Id { get; }
    /// <summary>Title for the report.</summary>
    string Title { get; }
    /// <summary>The claim under test, in one sentence.</summary>
    string Claim { get; }
    /// <summary>The sweep (<c>lmexplore.sweep/v1</c> JSON) to run; <paramref name="quick"/> selects the small version.</summary>
    string SweepConfigJson(bool quick);
    /// <summary>Turns the results into figures, tables and measured findings.</summary>
    ExperimentReport Analyze(SweepPlan plan, IReadOnlyList<SweepRecord> records);
}

/// <summary>The registry of experiments run by <c>reproduce</c>, in report order.</summary>
public static class ExperimentRegistry
{
    /// <summary>All experiments.</summary>
    public static IReadOnlyList<IExperiment> All { get; } = [new E1SpannerScaling(), new E2ComputeLowerBound(), new E5PassiveVersusSpanner()];

    /// <summary>Finds experiments by id (case-insensitive); unknown ids are bad input.</summary>
    public static IReadOnlyList<IExperiment> Select(IReadOnlyCollection<string>? ids)
    {
        if (ids is null || ids.Count == 0) return All;
        return ids.Select(id => All.FirstOrDefault(e => string.Equals(e.Id, id, StringComparison.OrdinalIgnoreCase))
            ?? throw new InputException($"unknown experiment '{id}' (known: {string.Join(", ", All.Select(e => e.Id))})")).ToList();
    }
}

/// <summary>A figure with the CSV of the numbers drawn.</summary>
public sealed record Figure(string FileStem, string Caption, LinePlot Plot)
{
    /// <summary>The SVG document.</summary>
    public string Svg => SvgPlot.Render(Plot);

    /// <summary>The numbers behind the figure: one row per series point (series, x, y, band low, band high).</summary>
    public string Csv()
    {
        var sb = new StringBuilder();
        sb.Append("series,x,y,band_lo,band_hi\n");
        foreach (var s in Plot.Series)
            for (int i = 0; i < s.X.Count; i++)
                sb.Append(Table.CsvField(s.Name)).Append(',').Append(Table.Num(s.X[i])).Append(',').Append(Table.Num(s.Y[i])).Append(',')
                  .Append(s.Lo is null ? "" : Table.Num(s.Lo[i])).Append(',').Append(s.Hi is null ? "" : Table.Num(s.Hi[i])).Append('\n');
        return sb.ToString();
    }
}

/// <summary>A table of numbers (also written as CSV).</summary>
public sealed record Table(string FileStem, string Caption, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows)
{
    /// <summary>The table as CSV.</summary>
    public string Csv() => string.Join("\n", new[] { Headers }.Concat(Rows).Select(r => string.Join(",", r.Select(CsvField)))) + "\n";

    /// <summary>Quotes a CSV field when needed.</summary>
    public static string CsvField(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>A number for CSV: shortest round-trip invariant form; empty for NaN; inf for infinity.</summary>
    public static string Num(double v) => double.IsNaN(v) ? "" : double.IsPositiveInfinity(v) ? "inf" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A number for people: 3 significant digits, invariant culture.</summary>
    public static string Fmt(double v) => double.IsNaN(v) ? "–" : double.IsPositiveInfinity(v) ? "∞"
        : Math.Abs(v) >= 1e5 || (Math.Abs(v) < 1e-3 && v != 0) ? v.ToString("0.00e+0", CultureInfo.InvariantCulture)
        : v.ToString(Math.Abs(v) >= 100 ? "0" : Math.Abs(v) >= 10 ? "0.0" : Math.Abs(v) >= 1 ? "0.00" : "0.000", CultureInfo.InvariantCulture);
}

/// <summary>A measured quantity and the criterion it is checked against (Pass is null when there is no criterion).</summary>
public sealed record Finding(string Name, double Value, string Display, string Criterion, bool? Pass);

/// <summary>The analysis of one experiment.</summary>
public sealed record ExperimentReport(IReadOnlyList<Figure> Figures, IReadOnlyList<Table> Tables, IReadOnlyList<Finding> Findings, IReadOnlyList<string> Notes);

/// <summary>Helpers shared by the experiment analyses.</summary>
internal static class Analysis
{
    /// <summary>Success: the run produced a finite suboptimality at most ε.</summary>
    public static bool Succeeded(SweepRecord r, double epsilon) => double.IsFinite(r.Result.Suboptimality) && r.Result.Suboptimality <= epsilon;

    /// <summary>A numeric setting of a record, NaN when absent.</summary>
    public static double Setting(SweepRecord r, string name) =>
        r.Settings.TryGetValue(name, out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) ? x : double.NaN;

    /// <summary>A string setting of a record, "" when absent.</summary>
    public static string Text(SweepRecord r, string name) => r.Settings.TryGetValue(name, out var s) ? s : "";

    /// <summary>Median with the 10 % and 90 % quantiles.</summary>
    public static (double M, double Lo, double Hi) Spread(IEnumerable<double> values)
    {
        var v = values.ToList();
        return (Stats.Median(v), Stats.Quantile(v, 0.1), Stats.Quantile(v, 0.9));
    }

    /// <summary>"✓"/"✗" finding for a value in [lo, hi].</summary>
    public static Finding Between(string name, double value, double lo, double hi, string criterionText) =>
        new(name, value, Table.Fmt(value), criterionText, double.IsFinite(value) ? value >= lo && value <= hi : false);
}
