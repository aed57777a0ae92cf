using System.Text;
using System.Text.Json;
using LmExplore.Figures;

namespace LmExplore.Experiments.Reproduce;

/// <summary>
/// The self-contained HTML report of <c>reproduce</c>: per experiment the claim, the measured findings
/// against their criteria, the figures (SVG inline), the tables and the sweep config; then the manifest.
/// No scripts, no external resources — it renders offline in any browser.
/// </summary>
public static class ReportHtml
{
    /// <summary>Renders the report.</summary>
    public static string Render(IReadOnlyList<ExperimentOutcome> outcomes, EnvironmentInfo env, ReproduceOptions options, double wallSeconds)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>LmExplore — reproduced experiments</title>\n<style>\n");
        sb.Append(Css);
        sb.Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>LmExplore — reproduced experiments</h1>\n");
        sb.Append($"<p>Foster, Mhammedi, Rohatgi, <i>Is a Good Foundation Necessary for Efficient RL? The Computational Role of the Base Model in Exploration</i> (COLT 2025). ");
        int resumed = outcomes.Sum(o => o.Sweep.AlreadyDone);
        sb.Append($"Mode: <b>{(options.Quick ? "quick" : "full")}</b>; {outcomes.Sum(o => o.Plan.Runs.Count - o.Sweep.Skipped)} runs{(outcomes.Sum(o => o.Sweep.Skipped) is int sk && sk > 0 ? $" ({sk} more skipped: their scans had stopped below them)" : "")}; wall time {wallSeconds:F0} s with {options.Parallelism} parallel runs; ");
        sb.Append($"sum of the runs' own times {outcomes.Sum(o => o.RunSeconds):F0} s");
        sb.Append(resumed > 0 ? $" ({resumed} runs were found finished in the output directory and not rerun, so the wall time covers only the rest). " : ". ");
        sb.Append("Every number below is measured by this invocation (or the sweep it resumed); the CSV files next to this report hold the data of every figure and table.</p>\n");

        sb.Append("<h2 id=\"summary\">Summary</h2>\n<div class=\"scroll\"><table class=\"findings\">\n<tr><th>experiment</th><th>measured</th><th>value</th><th>criterion</th><th></th></tr>\n");
        foreach (var o in outcomes)
            foreach (var f in o.Report.Findings)
                sb.Append($"<tr><td>{Esc(o.Experiment.Id)}</td><td>{Esc(f.Name)}</td>{Cell(f.Display)}<td>{Esc(f.Criterion)}</td><td>{Verdict(f.Pass)}</td></tr>\n");
        sb.Append("</table></div>\n");

        foreach (var o in outcomes)
        {
            var e = o.Experiment;
            sb.Append($"<h2 id=\"{Esc(e.Id)}\">{Esc(e.Title)}</h2>\n");
            sb.Append($"<p class=\"claim\"><b>Claim.</b> {Esc(e.Claim)}</p>\n");
            sb.Append("<div class=\"scroll\"><table class=\"findings\">\n<tr><th>measured</th><th>value</th><th>criterion</th><th></th></tr>\n");
            foreach (var f in o.Report.Findings)
                sb.Append($"<tr><td>{Esc(f.Name)}</td>{Cell(f.Display)}<td>{Esc(f.Criterion)}</td><td>{Verdict(f.Pass)}</td></tr>\n");
            sb.Append("</table></div>\n");
            foreach (var figure in o.Report.Figures)
            {
                sb.Append("<figure>\n");
                sb.Append(figure.Svg);
                sb.Append($"<figcaption>{Esc(figure.Caption)} Data: <a href=\"{Esc(e.Id)}/{Esc(figure.FileStem)}.csv\">{Esc(e.Id)}/{Esc(figure.FileStem)}.csv</a>, ");
                sb.Append($"figure: <a href=\"{Esc(e.Id)}/{Esc(figure.FileStem)}.svg\">{Esc(figure.FileStem)}.svg</a>.</figcaption>\n</figure>\n");
            }
            foreach (var table in o.Report.Tables)
            {
                sb.Append($"<p class=\"note\">{Esc(table.Caption)} (<a href=\"{Esc(e.Id)}/{Esc(table.FileStem)}.csv\">CSV</a>)</p>\n");
                AppendTable(sb, table.Headers, table.Rows);
            }
            foreach (var note in o.Report.Notes) sb.Append($"<p class=\"note\">{Esc(note)}</p>\n");
            sb.Append($"<p class=\"note\">{o.Plan.Runs.Count - o.Sweep.Skipped} runs{(o.Sweep.Skipped > 0 ? $" ({o.Sweep.Skipped} of the grid skipped: each budget scan stops at the first budget where 90 % of seeds reach ε)" : "")} ({o.Sweep.AlreadyDone} found finished, {o.Sweep.Completed} run now{(o.Sweep.Errors > 0 ? $", {o.Sweep.Errors} with status error" : "")}); ");
            sb.Append($"wall {o.WallSeconds:F1} s, sum of run times {o.RunSeconds:F1} s; sweep config hash <code>{Esc(o.Plan.Hash[..16])}</code>. ");
            sb.Append($"Rerun with <code>lmexplore sweep --config {Esc(e.Id)}/sweep.json --out DIR</code>.</p>\n");
            sb.Append($"<details><summary>Sweep config (full parameters, seeds)</summary>\n<pre>{Esc(PrettyJson(o.Plan.Config.Json))}</pre>\n</details>\n");
        }

        sb.Append("<h2 id=\"manifest\">Manifest</h2>\n<div class=\"scroll\"><table>\n");
        Row(sb, "git commit", env.GitCommit);
        Row(sb, ".NET", env.DotNet);
        Row(sb, "OS", env.Os);
        Row(sb, "logical cores", env.Cores.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Row(sb, "parallel runs", options.Parallelism.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Row(sb, "mode", options.Quick ? "quick (reproduce --quick)" : "full (reproduce)");
        Row(sb, "started", env.StartedUtc);
        Row(sb, "wall time", $"{wallSeconds:F1} s");
        foreach (var o in outcomes)
        {
            var c = o.Plan.Config;
            Row(sb, $"{o.Experiment.Id} seeds", $"sweep seed {c.SweepSeed}; replicates {string.Join(", ", c.Seeds)}; each run's seed = Rng.Mix(sweep seed, FNV-1a(run key))");
        }
        sb.Append("</table></div>\n<p class=\"note\">Run seeds, per-run settings and every result field are in each experiment's <code>results.jsonl</code>.</p>\n");
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>
    /// The report's style sheet (shared with <c>lmexplore report</c>). Laid out for a 1000 px window: tables sit in a
    /// box that scrolls horizontally when they are wider than the page, number cells never wrap.
    /// </summary>
    internal const string Css = """
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
        h1 { font-size: 1.6em; } h2 { margin-top: 2.2em; border-bottom: 2px solid #0072B2; padding-bottom: .2em; }
        .claim { background: #f2f7fb; border-left: 4px solid #0072B2; padding: .6em 1em; }
        .scroll { overflow-x: auto; max-width: 100%; margin: 1em 0; }
        table { border-collapse: collapse; font-size: .85em; }
        th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: right; }
        th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
        td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
        .pass { color: #009E73; font-weight: bold; white-space: nowrap; } .fail { color: #D55E00; font-weight: bold; white-space: nowrap; }
        table.findings td, table.findings th { text-align: left; }
        figure { margin: 1.5em 0; } figcaption { font-size: .9em; color: #555; }
        svg { max-width: 100%; height: auto; }
        pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: .8em; }
        .note { color: #555; font-size: .9em; }

        """;

    /// <summary>Appends a table of text cells inside a horizontally scrolling box; number-like cells get the no-wrap class.</summary>
    internal static void AppendTable(StringBuilder sb, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        sb.Append("<div class=\"scroll\"><table>\n<tr>");
        foreach (var h in headers) sb.Append($"<th>{Esc(h)}</th>");
        sb.Append("</tr>\n");
        foreach (var row in rows)
        {
            sb.Append("<tr>");
            foreach (var cell in row) sb.Append(Cell(cell));
            sb.Append("</tr>\n");
        }
        sb.Append("</table></div>\n");
    }

    /// <summary>A table cell; a number, range or ratio (no spaces, has a digit, ∞ or –) gets <c>class="num"</c> so it never wraps mid-number.</summary>
    internal static string Cell(string text) => IsNumberLike(text) ? $"<td class=\"num\">{Esc(text)}</td>" : $"<td>{Esc(text)}</td>";

    /// <summary>True for cells such as <c>1.13e+5</c>, <c>10755–12328</c>, <c>8/8</c>, <c>∞</c>: no white space, and a digit or a lone ∞/–.</summary>
    internal static bool IsNumberLike(string text) =>
        text.Length > 0 && !text.Any(char.IsWhiteSpace) && (text.Any(char.IsAsciiDigit) || text is "∞" or "–");

    private static void Row(StringBuilder sb, string name, string value) => sb.Append($"<tr><td>{Esc(name)}</td><td style=\"text-align:left\">{Esc(value)}</td></tr>\n");

    private static string Verdict(bool? pass) => pass switch
    {
        true => "<span class=\"pass\">✓ holds</span>",
        false => "<span class=\"fail\">✗ does not hold</span>",
        null => "",
    };

    internal static string Esc(string s) => SvgPlot.Esc(s);

    private static string PrettyJson(string json)
    {
        using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        return JsonSerializer.Serialize(doc.RootElement, new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
