using LmExplore.Runs;
using System.Globalization;
using System.Text;
using LmExplore.Experiments.Reproduce;
using LmExplore.Experiments.Sweeps;
using LmExplore.Figures;

namespace LmExplore.Experiments.Export;

/// <summary>
/// The HTML report of any set of runs (<c>lmexplore report</c>): a figure per measured quantity (T_data, T_comp,
/// T_tokens when used, suboptimality) against the first numeric setting that varies across the runs, one line per
/// algorithm label (and per value of every other varying setting), median and 10–90 % band over replicates; and a
/// table of the same groups. Self-contained like the <c>reproduce</c> report: SVG inline, no scripts.
/// </summary>
public static class SweepReport
{
    /// <summary>Settings never used as the x axis or to split series: they identify runs, not conditions.</summary>
    private static readonly HashSet<string> Identity = new(StringComparer.Ordinal) { "replicate", "label", "algorithm", "instance" };

    /// <summary>Renders the report of <paramref name="runs"/>.</summary>
    public static string Render(RunSet runs)
    {
        var records = runs.Records;
        var varying = records.SelectMany(r => r.Settings.Keys).Distinct().Where(k => !Identity.Contains(k))
            .Where(k => records.Select(r => r.Settings.GetValueOrDefault(k, "")).Distinct().Count() > 1)
            .OrderBy(AxisPreference).ThenBy(k => k, StringComparer.Ordinal).ToList();
        string? xName = varying.FirstOrDefault(k => records.All(r => Number(r.Settings.GetValueOrDefault(k)) is not null));
        // A setting splits the lines only if it still varies among runs of one label at one x once the settings
        // already splitting are fixed: a budget proportional to x, or to a variable that splits, adds no line.
        string LabelOf(SweepRecord r) => r.Settings.GetValueOrDefault("label") ?? r.Result.Algorithm;
        var splitBy = new List<string>();
        foreach (var k in varying.Where(k => k != xName))
        {
            bool varies = records
                .GroupBy(r => string.Join("|", new[] { LabelOf(r), xName is null ? "" : r.Settings[xName] }
                    .Concat(splitBy.Select(s => r.Settings.GetValueOrDefault(s, "")))))
                .Any(g => g.Select(r => r.Settings.GetValueOrDefault(k, "")).Distinct().Count() > 1);
            if (varies) splitBy.Add(k);
        }

        // Groups: one per series (label + other varying settings) and x value.
        string SeriesOf(SweepRecord r)
        {
            string label = LabelOf(r);
            return splitBy.Count == 0 ? label : label + " (" + string.Join(", ", splitBy.Select(k => $"{Short(k)}={r.Settings.GetValueOrDefault(k, "–")}")) + ")";
        }
        double XOf(SweepRecord r) => xName is null ? double.NaN : Number(r.Settings[xName])!.Value;
        // Series in label order, then by the numeric value of each splitting setting (0.3 before 3 before 30).
        var order = Comparer<SweepRecord>.Create((a, b) =>
        {
            int c = string.CompareOrdinal(LabelOf(a), LabelOf(b));
            foreach (var k in splitBy)
            {
                if (c != 0) return c;
                string va = a.Settings.GetValueOrDefault(k, ""), vb = b.Settings.GetValueOrDefault(k, "");
                c = Number(va) is double na && Number(vb) is double nb ? na.CompareTo(nb) : string.CompareOrdinal(va, vb);
            }
            return c;
        });
        var groups = records.GroupBy(r => (Series: SeriesOf(r), X: XOf(r)))
            .OrderBy(g => g.First(), order).ThenBy(g => g.Key.X).ToList();
        var seriesNames = groups.Select(g => g.Key.Series).Distinct().ToList();

        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append($"<title>LmExplore — {Esc(runs.Name)}</title>\n<style>\n{ReportHtml.Css}</style>\n</head>\n<body>\n");
        sb.Append($"<h1>LmExplore — {Esc(runs.Name)}</h1>\n");
        sb.Append($"<p>{records.Count} runs{(runs.Expected is int n ? $" of the sweep's {n}" : "")} read from <code>{Esc(runs.Source)}</code>. ");
        sb.Append(xName is null
            ? "No numeric setting varies across the runs, so there are no figures; the table groups runs by algorithm label."
            : $"Figures: each quantity against <code>{Esc(xName)}</code>, one line per {(splitBy.Count == 0 ? "algorithm label" : "algorithm label and value of " + string.Join(", ", splitBy.Select(k => $"<code>{Esc(k)}</code>")))}; line: median, band: 10–90 % over replicates.");
        sb.Append("</p>\n");

        if (xName is not null)
        {
            var xs = groups.Select(g => g.Key.X).ToList();
            bool xLog = xs.All(x => x > 0) && xs.Max() / xs.Min() >= 10;
            var metrics = new List<(string Stem, string Title, string Axis, Func<RunResult, double> Value)>
            {
                ("t-data", "reward queries T_data", "reward queries T_data (count)", r => r.TData),
                ("t-comp", "sampling-oracle calls T_comp", "sampling-oracle calls T_comp (count)", r => r.TComp),
            };
            if (records.Any(r => r.Result.TTokens > 0)) metrics.Add(("t-tokens", "token-oracle calls T_tokens", "token-oracle calls T_tokens (count)", r => r.TTokens));
            metrics.Add(("suboptimality", "suboptimality J(π*) − J(π̂)", "suboptimality (reward units)", r => r.Suboptimality));
            foreach (var (stem, title, axisTitle, value) in metrics)
            {
                var series = new List<Series>();
                foreach (var name in seriesNames)
                {
                    var points = groups.Where(g => g.Key.Series == name).OrderBy(g => g.Key.X).ToList();
                    var stats = points.Select(g => g.Select(r => value(r.Result)).ToList()).ToList();
                    series.Add(new Series(name, points.Select(g => g.Key.X).ToList(), stats.Select(v => Stats.Median(v)).ToList(),
                        stats.Select(v => Stats.Quantile(v, 0.1)).ToList(), stats.Select(v => Stats.Quantile(v, 0.9)).ToList()));
                }
                var ys = series.SelectMany(s => s.Y.Concat(s.Lo!).Concat(s.Hi!)).Where(double.IsFinite).ToList();
                bool yLog = ys.Count > 0 && ys.All(y => y > 0) && ys.Max() / ys.Min() >= 10;
                var plot = new LinePlot("report-" + stem, $"{title} against {xName}", new Axis(xName + (xLog ? " (log scale)" : ""), xLog),
                    new Axis(axisTitle + (yLog ? ", log scale" : ""), yLog), series, BandNote: "line: median; band: 10–90 % over replicates");
                sb.Append("<figure>\n").Append(SvgPlot.Render(plot));
                sb.Append($"<figcaption>{Esc(title)} against <code>{Esc(xName)}</code>.</figcaption>\n</figure>\n");
            }
        }

        sb.Append("<h2 id=\"table\">Runs by condition</h2>\n");
        var headers = new List<string> { "series" };
        if (xName is not null) headers.Add(xName);
        headers.AddRange(["runs", "ok / budget / error", "T_data median", "T_data 10–90 %", "T_comp median", "T_comp 10–90 %", "suboptimality median", "suboptimality 10–90 %", "C_cov median", "wall s median"]);
        var rows = new List<IReadOnlyList<string>>();
        foreach (var g in groups)
        {
            var row = new List<string> { g.Key.Series };
            if (xName is not null) row.Add(SweepConfig.FormatNumber(g.Key.X)); // the grid value as written in the config
            var results = g.Select(r => r.Result).ToList();
            row.Add(results.Count.ToString(CultureInfo.InvariantCulture));
            row.Add($"{results.Count(r => r.Status == "ok")}/{results.Count(r => r.Status == "budget_exhausted")}/{results.Count(r => r.Status == "error")}");
            foreach (var value in new Func<RunResult, double>[] { r => r.TData, r => r.TComp, r => r.Suboptimality })
            {
                var v = results.Select(value).ToList();
                row.Add(Table.Fmt(Stats.Median(v)));
                row.Add($"{Table.Fmt(Stats.Quantile(v, 0.1))}–{Table.Fmt(Stats.Quantile(v, 0.9))}");
            }
            row.Add(Table.Fmt(Stats.Median(results.Select(r => r.CCov))));
            row.Add(Table.Fmt(Stats.Median(results.Select(r => r.WallSeconds))));
            rows.Add(row);
        }
        ReportHtml.AppendTable(sb, headers, rows);
        sb.Append("<p class=\"note\">ok / budget / error: runs by status (ok, budget_exhausted, error). Every run, with all its settings and diagnostics, ");
        sb.Append("is one row of <code>lmexplore export</code>'s CSV.</p>\n</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>Instance parameters make the natural x axis, then free variables, algorithm parameters, budgets.</summary>
    private static int AxisPreference(string setting) =>
        setting.StartsWith("instance.", StringComparison.Ordinal) ? 0 : setting.StartsWith("var.", StringComparison.Ordinal) ? 1
        : setting.StartsWith("algo.", StringComparison.Ordinal) ? 2 : 3;

    private static string Short(string setting)
    {
        int dot = setting.IndexOf('.');
        return dot >= 0 && !setting.StartsWith("budget.", StringComparison.Ordinal) ? setting[(dot + 1)..] : setting;
    }

    private static double? Number(string? text) =>
        text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) ? x : null;

    private static string Esc(string s) => SvgPlot.Esc(s);
}
