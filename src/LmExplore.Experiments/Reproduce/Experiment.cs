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
    public static IReadOnlyList<IExperiment> All { get; } = [new E1SpannerScaling(), new E2ComputeLowerBound(), E3ProperBarrier.Dnf, E3ProperBarrier.Needle, new E4MultiTurn(), new E5PassiveVersusSpanner(), new E6TextTask()];

    /// <summary>Finds experiments by id (case-insensitive); an id also selects its parts ("E3" selects E3-dnf and
    /// E3-needle); unknown ids are bad input.</summary>
    public static IReadOnlyList<IExperiment> Select(IReadOnlyCollection<string>? ids)
    {
        if (ids is null || ids.Count == 0) return All;
        return ids.SelectMany(id =>
        {
            var exact = All.Where(e => string.Equals(e.Id, id, StringComparison.OrdinalIgnoreCase)).ToList();
            var parts = exact.Count > 0 ? exact : All.Where(e => e.Id.StartsWith(id + "-", StringComparison.OrdinalIgnoreCase)).ToList();
            return parts.Count > 0 ? parts
                : throw new InputException($"unknown experiment '{id}' (known: {string.Join(", ", All.Select(e => e.Id))})");
        }).Distinct().ToList();
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

/// <summary>A measured budget-to-ε (see <see cref="Analysis.BudgetToEps"/>).</summary>
/// <param name="Budget">The budget, or null when none in the window sufficed.</param>
/// <param name="AtFloor">The answer is the smallest budget tried.</param>
/// <param name="MedianTData">Median T_data spent at that budget.</param>
/// <param name="MedianTComp">Median T_comp spent at that budget.</param>
/// <param name="Reached">Runs that reached ε there.</param>
/// <param name="Runs">Runs there.</param>
/// <param name="LargestTried">The largest budget of the window.</param>
public sealed record ToEps(double? Budget, bool AtFloor, double MedianTData, double MedianTComp, int Reached, int Runs, double LargestTried)
{
    /// <summary>The budget, +∞ when none sufficed (so slopes and ratios see a censored value).</summary>
    public double Value => Budget ?? double.PositiveInfinity;
}

/// <summary>The <c>needle</c> instances and ε shared by E1, E2 and E5: β = 0.1, R = 1, Gaussian noise σ = 0.1, d = 4,
/// 8 prompts × 2000 responses, ε = 0.008 (a tenth of the smallest gap J_opt − J_ref at C_cov = 10), δ = 0.1.</summary>
internal static class NeedleSetup
{
    public const double Epsilon = 0.008;
    public const double Delta = 0.1;
    public const string InstanceParams = """{ "R": 1, "beta": 0.1, "d": 4, "prompts": 8, "responses": 2000, "noise": "gaussian", "sigma": 0.1 }""";
    public const string Description = "needle: beta=0.1, R=1, sigma=0.1, d=4, 8 prompts x 2000 responses; epsilon=0.008; success = reached_epsilon (the law of the output sampler as it runs)";

    /// <summary>√2-spaced grid from <paramref name="from"/> to <paramref name="to"/> as a JSON array.</summary>
    public static string Grid(double from, double to) =>
        "[" + string.Join(", ", Frontier.FrontierSearch.Grid((long)from, (long)to, Math.Sqrt(2))) + "]";

    /// <summary>√2-spaced multipliers 2^(k/2) for k = kFrom..kTo, as a JSON array.</summary>
    public static string Multipliers(int kFrom, int kTo) =>
        "[" + string.Join(", ", Enumerable.Range(kFrom, kTo - kFrom + 1).Select(k => Math.Pow(2, k / 2.0).ToString("R", CultureInfo.InvariantCulture))) + "]";
}

/// <summary>Helpers shared by the experiment analyses.</summary>
internal static class Analysis
{
    /// <summary>Success: the run reached ε on the honest headline (the law of its output sampler as it runs).</summary>
    public static bool Succeeded(SweepRecord r) => r.Result.ReachedEpsilon;

    /// <summary>
    /// Budget-to-ε from a scan: the runs of one group (one instance, one algorithm), each with the budget in
    /// <paramref name="budgetSetting"/>; the smallest budget at which at least ⌈(1 − δ)·runs⌉ reached ε, scanning
    /// upward and stopping at the first — as <c>lmexplore frontier</c> does. Null when no budget in the window did.
    /// <c>AtFloor</c> says the answer is the smallest budget tried: the true value may lie below the window.
    /// </summary>
    public static ToEps BudgetToEps(IEnumerable<SweepRecord> group, string budgetSetting, double delta)
    {
        var byBudget = group.GroupBy(r => Setting(r, budgetSetting)).OrderBy(g => g.Key).ToList();
        double largest = byBudget.Count > 0 ? byBudget[^1].Key : double.NaN;
        if (Frontier.BudgetToEpsilon.FirstSuccess(byBudget.Select(g => (g.Count(Succeeded), g.Count())), delta) is not int k)
            return new ToEps(null, false, double.NaN, double.NaN, 0, 0, largest);
        var at = byBudget[k];
        return new ToEps(at.Key, k == 0, Stats.Median(at.Select(r => (double)r.Result.TData)),
            Stats.Median(at.Select(r => (double)r.Result.TComp)), at.Count(Succeeded), at.Count(), largest);
    }

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
