using System.Globalization;
using System.Text;

namespace LmExplore.Figures;

/// <summary>An axis: title (with units), scale, optional fixed range.</summary>
/// <param name="Title">Axis title, including units, e.g. "sampling-oracle calls T_comp".</param>
/// <param name="Log">Logarithmic (base 10) scale; non-positive values are not drawn.</param>
/// <param name="Min">Fixed lower end, or null to fit the data.</param>
/// <param name="Max">Fixed upper end, or null to fit the data.</param>
public sealed record Axis(string Title, bool Log = true, double? Min = null, double? Max = null);

/// <summary>One line of a plot: a centre (median) and an optional band (e.g. 10–90 % over seeds).</summary>
/// <param name="Name">Legend entry.</param>
/// <param name="X">x values.</param>
/// <param name="Y">Centre values (NaN breaks the line).</param>
/// <param name="Lo">Lower band edge per point, or null for no band.</param>
/// <param name="Hi">Upper band edge per point, or null for no band.</param>
/// <param name="Dashed">Draw the line dashed (e.g. a second quantity of the same algorithm).</param>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y,
    IReadOnlyList<double>? Lo = null, IReadOnlyList<double>? Hi = null, bool Dashed = false);

/// <summary>A labelled reference line: horizontal at y = Value, or vertical at x = Value.</summary>
public sealed record ReferenceLine(bool Vertical, double Value, string Label);

/// <summary>A line plot.</summary>
/// <param name="Id">Identifier, unique within a page (prefixes the SVG's internal ids so several figures can be inlined in one HTML).</param>
/// <param name="Title">Title above the plot.</param>
/// <param name="X">Horizontal axis.</param>
/// <param name="Y">Vertical axis.</param>
/// <param name="Series">The lines, in legend order.</param>
/// <param name="References">Reference lines.</param>
/// <param name="BandNote">Legend footnote describing the band (e.g. "band: 10–90 % over seeds").</param>
public sealed record LinePlot(string Id, string Title, Axis X, Axis Y, IReadOnlyList<Series> Series,
    IReadOnlyList<ReferenceLine>? References = null, string? BandNote = null);

/// <summary>
/// A small SVG writer for line plots: linear or log-10 axes with readable ticks (decades labelled,
/// minor ticks at 2…9, every log-axis label a power of ten), one colour and marker per series from the Okabe–Ito
/// colour-blind-safe palette, median line with a faint band whose edges are dashed (overlapping bands stay
/// distinguishable), markers never clipped by the frame, legend, axis titles and a title. Output is standalone SVG 1.1
/// (xmlns, viewBox, escaped text, invariant-culture numbers), so it opens in a browser and can be
/// inlined into HTML.
/// </summary>
public static class SvgPlot
{
    /// <summary>Okabe &amp; Ito (2008) colour-blind-safe palette, without yellow first (weak on white).</summary>
    public static readonly string[] Palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    private const double BaseWidth = 760, BaseHeight = 460;
    private const double Left = 78, MinRight = 200, Top = 44, Bottom = 62;
    /// <summary>Gap in pixels between the frame and the ends of the data range (larger than any marker's radius).</summary>
    public const double Pad = 8;
    /// <summary>Fill opacity of a 10–90 % band: low, so that overlapping bands of two series stay distinguishable (their edges are dashed lines).</summary>
    public const double BandOpacity = 0.12;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Renders the plot as a standalone SVG document.</summary>
    public static string Render(LinePlot plot)
    {
        string id = new(plot.Id.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray());
        var refs = plot.References ?? [];
        var xs = plot.Series.SelectMany(s => s.X).Concat(refs.Where(r => r.Vertical).Select(r => r.Value));
        var ys = plot.Series.SelectMany(s => s.Y.Concat(s.Lo ?? []).Concat(s.Hi ?? [])).Concat(refs.Where(r => !r.Vertical).Select(r => r.Value));
        // The data range maps to the frame inset by Pad, so markers at the range ends are drawn whole, inside the frame.
        // The legend column widens for long names and the figure grows taller for many series: legend text is never cut.
        int longest = plot.Series.Count == 0 ? 0 : plot.Series.Max(s => s.Name.Length);
        double Right = Math.Max(MinRight, 62 + 7.2 * longest);
        double Width = BaseWidth - MinRight + Right;
        int noteLines = plot.BandNote?.Split("; ").Length ?? 0;
        double Height = Math.Max(BaseHeight, Top + 8 + 22 * plot.Series.Count + 13 * noteLines + 16);
        var xScale = Scale.Fit(plot.X, xs, Left + Pad, Width - Right - Pad);
        var yScale = Scale.Fit(plot.Y, ys, Height - Bottom - Pad, Top + Pad);

        var sb = new StringBuilder();
        sb.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 {N(Width)} {N(Height)}\" width=\"{N(Width)}\" height=\"{N(Height)}\" ");
        sb.Append("font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\" role=\"img\">\n");
        sb.Append($"<title>{Esc(plot.Title)}</title>\n");
        sb.Append($"<desc>{Esc($"{plot.Y.Title} against {plot.X.Title}; " + string.Join(", ", plot.Series.Select(s => s.Name)))}</desc>\n");
        sb.Append($"<defs><clipPath id=\"{id}-clip\"><rect x=\"{N(Left)}\" y=\"{N(Top)}\" width=\"{N(Width - Left - Right)}\" height=\"{N(Height - Top - Bottom)}\"/></clipPath></defs>\n");
        sb.Append($"<rect x=\"0\" y=\"0\" width=\"{N(Width)}\" height=\"{N(Height)}\" fill=\"#ffffff\"/>\n");
        sb.Append($"<text x=\"{N((Left + Width - Right) / 2)}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Esc(plot.Title)}</text>\n");

        // Grid and ticks.
        sb.Append("<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
        foreach (var t in xScale.Ticks) if (t.Major) sb.Append($"<line x1=\"{N(xScale.Map(t.Value))}\" y1=\"{N(Top)}\" x2=\"{N(xScale.Map(t.Value))}\" y2=\"{N(Height - Bottom)}\"/>\n");
        foreach (var t in yScale.Ticks) if (t.Major) sb.Append($"<line x1=\"{N(Left)}\" y1=\"{N(yScale.Map(t.Value))}\" x2=\"{N(Width - Right)}\" y2=\"{N(yScale.Map(t.Value))}\"/>\n");
        sb.Append("</g>\n");
        sb.Append($"<rect x=\"{N(Left)}\" y=\"{N(Top)}\" width=\"{N(Width - Left - Right)}\" height=\"{N(Height - Top - Bottom)}\" fill=\"none\" stroke=\"#333333\"/>\n");
        sb.Append("<g class=\"ticks\" stroke=\"#333333\">\n");
        foreach (var t in xScale.Ticks)
        {
            double px = xScale.Map(t.Value), len = t.Major ? 6 : 3;
            sb.Append($"<line x1=\"{N(px)}\" y1=\"{N(Height - Bottom)}\" x2=\"{N(px)}\" y2=\"{N(Height - Bottom + len)}\"/>\n");
        }
        foreach (var t in yScale.Ticks)
        {
            double py = yScale.Map(t.Value), len = t.Major ? 6 : 3;
            sb.Append($"<line x1=\"{N(Left - len)}\" y1=\"{N(py)}\" x2=\"{N(Left)}\" y2=\"{N(py)}\"/>\n");
        }
        sb.Append("</g>\n<g class=\"tick-labels\" fill=\"#222222\">\n");
        foreach (var t in xScale.Ticks.Where(t => t.Label is not null))
            sb.Append($"<text x=\"{N(xScale.Map(t.Value))}\" y=\"{N(Height - Bottom + 20)}\" text-anchor=\"middle\">{t.Label}</text>\n");
        foreach (var t in yScale.Ticks.Where(t => t.Label is not null))
            sb.Append($"<text x=\"{N(Left - 9)}\" y=\"{N(yScale.Map(t.Value) + 4)}\" text-anchor=\"end\">{t.Label}</text>\n");
        sb.Append("</g>\n");
        sb.Append($"<text x=\"{N((Left + Width - Right) / 2)}\" y=\"{N(Height - 16)}\" text-anchor=\"middle\" font-size=\"13\">{Esc(plot.X.Title)}</text>\n");
        sb.Append($"<text transform=\"translate(18 {N((Top + Height - Bottom) / 2)}) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">{Esc(plot.Y.Title)}</text>\n");

        // Data, clipped to the plot area.
        sb.Append($"<g clip-path=\"url(#{id}-clip)\">\n");
        foreach (var r in refs)
        {
            if (r.Vertical && xScale.Valid(r.Value))
                sb.Append($"<line class=\"reference\" x1=\"{N(xScale.Map(r.Value))}\" y1=\"{N(Top)}\" x2=\"{N(xScale.Map(r.Value))}\" y2=\"{N(Height - Bottom)}\" stroke=\"#777777\" stroke-dasharray=\"2 3\"/>\n");
            else if (!r.Vertical && yScale.Valid(r.Value))
                sb.Append($"<line class=\"reference\" x1=\"{N(Left)}\" y1=\"{N(yScale.Map(r.Value))}\" x2=\"{N(Width - Right)}\" y2=\"{N(yScale.Map(r.Value))}\" stroke=\"#777777\" stroke-dasharray=\"2 3\"/>\n");
        }
        for (int s = 0; s < plot.Series.Count; s++)
        {
            var series = plot.Series[s];
            string colour = Palette[s % Palette.Length];
            var order = Enumerable.Range(0, series.X.Count).OrderBy(i => series.X[i]).ToArray();
            if (series.Lo is not null && series.Hi is not null)
            {
                foreach (var run in Runs(order, i => xScale.Valid(series.X[i]) && yScale.Valid(series.Lo[i]) && yScale.Valid(series.Hi[i])))
                {
                    var pts = run.Select(i => $"{N(xScale.Map(series.X[i]))},{N(yScale.Map(series.Hi[i]))}")
                        .Concat(run.AsEnumerable().Reverse().Select(i => $"{N(xScale.Map(series.X[i]))},{N(yScale.Map(series.Lo[i]))}"));
                    sb.Append($"<polygon class=\"band\" points=\"{string.Join(" ", pts)}\" fill=\"{colour}\" fill-opacity=\"{N(BandOpacity)}\" stroke=\"none\"/>\n");
                    // Thin dashed edges in the series colour: where two bands overlap, each one's extent stays visible.
                    foreach (var edge in new[] { series.Hi, series.Lo })
                    {
                        var e = string.Join(" ", run.Select((i, k) => $"{(k == 0 ? "M" : "L")}{N(xScale.Map(series.X[i]))},{N(yScale.Map(edge[i]))}"));
                        sb.Append($"<path class=\"band-edge\" d=\"{e}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"0.8\" stroke-dasharray=\"3 3\"/>\n");
                    }
                }
            }
            foreach (var run in Runs(order, i => xScale.Valid(series.X[i]) && yScale.Valid(series.Y[i])))
            {
                var d = string.Join(" ", run.Select((i, k) => $"{(k == 0 ? "M" : "L")}{N(xScale.Map(series.X[i]))},{N(yScale.Map(series.Y[i]))}"));
                sb.Append($"<path class=\"series\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{(series.Dashed ? " stroke-dasharray=\"7 4\"" : "")}/>\n");
            }
        }
        sb.Append("</g>\n");
        // Markers are not clipped (only lines and bands are): a point inside the axis range is always drawn whole.
        sb.Append("<g class=\"markers\">\n");
        for (int s = 0; s < plot.Series.Count; s++)
        {
            var series = plot.Series[s];
            string colour = Palette[s % Palette.Length];
            for (int i = 0; i < series.X.Count; i++)
                if (xScale.Valid(series.X[i]) && yScale.Valid(series.Y[i]) && xScale.Contains(series.X[i]) && yScale.Contains(series.Y[i]))
                    sb.Append(Marker(s, xScale.Map(series.X[i]), yScale.Map(series.Y[i]), colour)).Append('\n');
        }
        sb.Append("</g>\n");
        foreach (var r in refs)
        {
            if (r.Vertical && xScale.Valid(r.Value))
                sb.Append($"<text x=\"{N(xScale.Map(r.Value) + 4)}\" y=\"{N(Top + 14)}\" font-size=\"11\" fill=\"#555555\">{Esc(r.Label)}</text>\n");
            else if (!r.Vertical && yScale.Valid(r.Value))
            {
                double py = yScale.Map(r.Value);
                double ty = py - Top < 16 ? py + 14 : py - 4; // below the line when it runs along the top edge
                sb.Append($"<text x=\"{N(Width - Right - 4)}\" y=\"{N(ty)}\" text-anchor=\"end\" font-size=\"11\" fill=\"#555555\">{Esc(r.Label)}</text>\n");
            }
        }

        // Legend, right of the plot.
        double lx = Width - Right + 16, ly = Top + 8;
        sb.Append("<g class=\"legend\">\n");
        for (int s = 0; s < plot.Series.Count; s++)
        {
            var series = plot.Series[s];
            string colour = Palette[s % Palette.Length];
            double y = ly + 22 * s;
            if (series.Lo is not null)
                sb.Append($"<rect x=\"{N(lx)}\" y=\"{N(y - 6)}\" width=\"30\" height=\"12\" fill=\"{colour}\" fill-opacity=\"{N(BandOpacity)}\" stroke=\"{colour}\" stroke-width=\"0.8\" stroke-dasharray=\"3 3\"/>\n");
            sb.Append($"<line x1=\"{N(lx)}\" y1=\"{N(y)}\" x2=\"{N(lx + 30)}\" y2=\"{N(y)}\" stroke=\"{colour}\" stroke-width=\"2\"{(series.Dashed ? " stroke-dasharray=\"7 4\"" : "")}/>\n");
            sb.Append(Marker(s, lx + 15, y, colour)).Append('\n');
            sb.Append($"<text x=\"{N(lx + 38)}\" y=\"{N(y + 4)}\">{Esc(series.Name)}</text>\n");
        }
        if (plot.BandNote is not null)
        {
            // One line per "; "-separated part: the legend column is narrow.
            var parts = plot.BandNote.Split("; ");
            for (int k = 0; k < parts.Length; k++)
                sb.Append($"<text x=\"{N(lx)}\" y=\"{N(ly + 22 * plot.Series.Count + 8 + 13 * k)}\" font-size=\"10\" fill=\"#555555\">{Esc(parts[k])}</text>\n");
        }
        sb.Append("</g>\n</svg>\n");
        return sb.ToString();
    }

    /// <summary>Contiguous runs of indices (in <paramref name="order"/>) satisfying <paramref name="ok"/>: invalid points break lines.</summary>
    private static List<int[]> Runs(int[] order, Func<int, bool> ok)
    {
        var runs = new List<int[]>();
        var current = new List<int>();
        foreach (var i in order)
        {
            if (ok(i)) current.Add(i);
            else if (current.Count > 0) { runs.Add([.. current]); current.Clear(); }
        }
        if (current.Count > 0) runs.Add([.. current]);
        return runs;
    }

    /// <summary>A marker shape per series (circle, square, triangle, diamond) so series differ without colour too.</summary>
    private static string Marker(int series, double x, double y, string colour) => (series % 4) switch
    {
        0 => $"<circle cx=\"{N(x)}\" cy=\"{N(y)}\" r=\"3.5\" fill=\"{colour}\"/>",
        1 => $"<rect x=\"{N(x - 3.2)}\" y=\"{N(y - 3.2)}\" width=\"6.4\" height=\"6.4\" fill=\"{colour}\"/>",
        2 => $"<polygon points=\"{N(x)},{N(y - 4.2)} {N(x + 4)},{N(y + 3)} {N(x - 4)},{N(y + 3)}\" fill=\"{colour}\"/>",
        _ => $"<polygon points=\"{N(x)},{N(y - 4.5)} {N(x + 4.5)},{N(y)} {N(x)},{N(y + 4.5)} {N(x - 4.5)},{N(y)}\" fill=\"{colour}\"/>",
    };

    /// <summary>Escapes text for XML content and attributes.</summary>
    public static string Esc(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;").Replace("'", "&#39;");

    private static string N(double v) => v.ToString("0.##", Inv);

    /// <summary>A tick: value, whether major (gridline), label markup (already escaped) or null.</summary>
    private readonly record struct Tick(double Value, bool Major, string? Label);

    /// <summary>Maps data values to pixels and chooses ticks.</summary>
    private sealed class Scale
    {
        private readonly bool _log;
        private readonly double _lo, _hi, _p0, _p1;

        private Scale(bool log, double lo, double hi, double p0, double p1, List<Tick> ticks)
        {
            _log = log; _lo = lo; _hi = hi; _p0 = p0; _p1 = p1; Ticks = ticks;
        }

        public List<Tick> Ticks { get; }

        public bool Valid(double v) => double.IsFinite(v) && (!_log || v > 0);

        /// <summary>True when <paramref name="v"/> lies in the axis range (to rounding).</summary>
        public bool Contains(double v)
        {
            double t = _log ? Math.Log10(v) : v, eps = 1e-9 * Math.Max(1, Math.Abs(_hi - _lo));
            return t >= _lo - eps && t <= _hi + eps;
        }

        public double Map(double v)
        {
            double t = _log ? (Math.Log10(v) - _lo) / (_hi - _lo) : (v - _lo) / (_hi - _lo);
            return _p0 + t * (_p1 - _p0);
        }

        public static Scale Fit(Axis axis, IEnumerable<double> data, double p0, double p1)
        {
            var values = data.Where(v => double.IsFinite(v) && (!axis.Log || v > 0)).ToList();
            if (axis.Min is double fmin) values.Add(fmin);
            if (axis.Max is double fmax) values.Add(fmax);
            return axis.Log ? FitLog(axis, values, p0, p1) : FitLinear(axis, values, p0, p1);
        }

        private static Scale FitLog(Axis axis, List<double> values, double p0, double p1)
        {
            double lo = values.Count > 0 ? Math.Log10(axis.Min ?? values.Min()) : 0;
            double hi = values.Count > 0 ? Math.Log10(axis.Max ?? values.Max()) : 1;
            // Snap to whole decades so the ends carry labels; widen a degenerate range.
            if (axis.Min is null) lo = Math.Floor(lo + 1e-9);
            if (axis.Max is null) hi = Math.Ceiling(hi - 1e-9);
            if (hi - lo < 1) { lo = Math.Floor(lo) - (axis.Min is null ? 0 : 0); hi = lo + 1; }
            var ticks = new List<Tick>();
            double span = hi - lo;
            int labelEvery = span > 12 ? 3 : span > 7 ? 2 : 1;
            // One notation on every log axis: powers of ten (never "10000" next to "10⁵", nor a plain axis beside a
            // powers-of-ten axis in the same figure).
            for (int k = (int)Math.Floor(lo); k <= (int)Math.Ceiling(hi); k++)
            {
                double decade = Math.Pow(10, k);
                if (k >= lo - 1e-9 && k <= hi + 1e-9)
                    ticks.Add(new Tick(decade, true, k % labelEvery == 0 ? PowerLabel(k) : null));
                for (int m = 2; m <= 9; m++)
                {
                    double v = m * decade, lv = Math.Log10(v);
                    if (lv < lo - 1e-9 || lv > hi + 1e-9) continue;
                    string? label = span <= 1.5 && m is 2 or 5 ? $"{m}×{PowerLabel(k)}" : null;
                    ticks.Add(new Tick(v, false, label));
                }
            }
            return new Scale(true, lo, hi, p0, p1, ticks);
        }

        private static Scale FitLinear(Axis axis, List<double> values, double p0, double p1)
        {
            double lo = values.Count > 0 ? values.Min() : 0, hi = values.Count > 0 ? values.Max() : 1;
            if (axis.Min is double a) lo = a;
            if (axis.Max is double b) hi = b;
            if (hi - lo <= 0) { double pad = Math.Abs(lo) > 0 ? Math.Abs(lo) * 0.1 : 1; lo -= pad; hi += pad; }
            double step = NiceStep((hi - lo) / 5);
            if (axis.Min is null) lo = Math.Floor(lo / step + 1e-9) * step;
            if (axis.Max is null) hi = Math.Ceiling(hi / step - 1e-9) * step;
            int decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
            var ticks = new List<Tick>();
            for (double v = Math.Ceiling(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step)
            {
                double clean = Math.Round(v, Math.Min(15, decimals + 2)) + 0.0; // + 0.0 turns −0 into 0 (no "-0.0" label)
                ticks.Add(new Tick(clean, true, Esc(clean.ToString("F" + decimals, Inv))));
                double half = clean + step / 2;
                if (half <= hi + step * 1e-9) ticks.Add(new Tick(half, false, null));
            }
            return new Scale(false, lo, hi, p0, p1, ticks);
        }

        private static double NiceStep(double raw)
        {
            double p = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double f = raw / p;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
        }

        /// <summary>10 with a superscript exponent (a true minus sign for negative ones).</summary>
        private static string PowerLabel(int k) => $"10<tspan dy=\"-6\" font-size=\"9\">{Esc(k.ToString(Inv).Replace('-', '−'))}</tspan>";
    }
}
