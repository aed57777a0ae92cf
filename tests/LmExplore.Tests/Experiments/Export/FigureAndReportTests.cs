using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using LmExplore.Experiments.Reproduce;
using LmExplore.Figures;

namespace LmExplore.Tests.Experiments.Export;

public class FigureTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void LogLogPlot_IsValidSvg_WithSeriesBandsLegendAndDecadeTicks()
    {
        var plot = new LinePlot("t1", "T_comp & T_data <vs> \"coverage\"",
            new Axis("C_cov (ratio)"), new Axis("oracle calls (count)"),
            [
                new Series("A", [10, 100, 1000, 1e4, 1e5], [4e3, 4e4, 4e5, 4e6, 4e7], [3e3, 3e4, 3e5, 3e6, 3e7], [5e3, 5e4, 5e5, 5e6, 5e7]),
                new Series("B <data>", [10, 100, 1000, 1e4, 1e5], [170, 160, double.NaN, 180, 175], Dashed: true),
            ], [new ReferenceLine(false, 100, "ε")], "band: 10–90 %");
        var doc = XDocument.Parse(SvgPlot.Render(plot));
        var root = doc.Root!;
        Assert.Equal(Svg + "svg", root.Name);
        Assert.NotNull(root.Attribute("viewBox"));
        Assert.Equal("T_comp & T_data <vs> \"coverage\"", root.Element(Svg + "title")!.Value);
        var paths = root.Descendants(Svg + "path").Where(p => (string?)p.Attribute("class") == "series").ToList();
        Assert.Equal(3, paths.Count); // A is one line; B is broken in two by the NaN
        Assert.Single(root.Descendants(Svg + "polygon"), p => (string?)p.Attribute("class") == "band");
        var texts = root.Descendants(Svg + "text").Select(t => t.Value).ToList();
        Assert.Contains("B <data>", texts);
        Assert.Contains("C_cov (ratio)", texts);
        Assert.Contains("oracle calls (count)", texts);
        Assert.Contains("101", texts); // the x axis reaches 10^5: every decade as a power of ten
        Assert.Contains("103", texts);
        Assert.DoesNotContain("1000", texts);
        Assert.Contains("105", texts); // 10 with superscript 5
        Assert.Contains("108", texts);
        // Minor ticks: 8 per decade on both axes.
        Assert.True(root.Descendants(Svg + "g").First(g => (string?)g.Attribute("class") == "ticks").Elements().Count() > 60);
        // Every coordinate lies inside the viewBox.
        foreach (var p in paths)
            foreach (var xy in p.Attribute("d")!.Value.Split(' ').Select(s => s.TrimStart('M', 'L').Split(',')))
            {
                Assert.InRange(double.Parse(xy[0], CultureInfo.InvariantCulture), 0, 760);
                Assert.InRange(double.Parse(xy[1], CultureInfo.InvariantCulture), 0, 460);
            }
    }

    /// <summary>Tick labels of one axis: x labels are centred under the axis, y labels end left of it.</summary>
    private static List<XElement> TickLabels(XElement root, string anchor) =>
        root.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "tick-labels")
            .Elements(Svg + "text").Where(t => (string?)t.Attribute("text-anchor") == anchor).ToList();

    [Theory]
    [InlineData(10, 1e5)]      // never "10000" beside "10⁵"
    [InlineData(1e-4, 0.5)]
    [InlineData(1, 1000)]      // a short axis too: a figure never mixes plain and power labels across its axes
    [InlineData(0.01, 10000)]
    [InlineData(200, 900)]     // less than a decade: minor labels as m×10^k
    public void LogAxis_TickLabels_AreAllPowersOfTen(double lo, double hi)
    {
        var plot = new LinePlot("n", "notation", new Axis("x"), new Axis("y"), [new Series("s", [lo, hi], [lo, hi])]);
        var root = XDocument.Parse(SvgPlot.Render(plot)).Root!;
        foreach (var anchor in new[] { "middle", "end" })
        {
            var labels = TickLabels(root, anchor);
            Assert.True(labels.Count >= 2, $"axis {anchor}: {labels.Count} labels");
            Assert.All(labels, l => Assert.NotNull(l.Element(Svg + "tspan")));
            Assert.All(labels, l => Assert.Matches(@"^(\d×)?10[−]?\d+$", l.Value));
        }
    }

    [Fact]
    public void Markers_AreInsideThePlotArea_AndNotClipped_EvenAtTheEndsOfTheRange()
    {
        // Points exactly at the decade ends of both axes (where the frame used to cut markers in half).
        var plot = new LinePlot("m", "markers", new Axis("x"), new Axis("y"),
            [new Series("a", [10, 100, 1000], [1, 10, 100]), new Series("b", [10, 1000], [100, 1]),
             new Series("c", [10, 1000], [1, 100]), new Series("d", [10, 1000], [100, 100])]);
        var root = XDocument.Parse(SvgPlot.Render(plot)).Root!;
        var frame = root.Elements(Svg + "rect").Single(r => (string?)r.Attribute("stroke") == "#333333");
        double fx = D(frame, "x"), fy = D(frame, "y"), fw = D(frame, "width"), fh = D(frame, "height");
        var markers = root.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "markers");
        Assert.Null(markers.Attribute("clip-path"));
        Assert.DoesNotContain(markers.Ancestors(), a => a.Attribute("clip-path") is not null);
        var shapes = markers.Elements().ToList();
        Assert.Equal(9, shapes.Count);
        foreach (var m in shapes)
        {
            var (x0, y0, x1, y1) = Bounds(m);
            Assert.True(x0 >= fx && x1 <= fx + fw && y0 >= fy && y1 <= fy + fh, $"marker {m} leaves the frame {fx},{fy},{fw},{fh}");
        }
    }

    [Fact]
    public void Bands_AreFaint_WithDashedEdgesInTheSeriesColour()
    {
        var plot = new LinePlot("b", "bands", new Axis("x"), new Axis("y"),
            [new Series("a", [1, 10, 100], [2, 20, 200], [1, 10, 100], [4, 40, 400]), new Series("b", [1, 10, 100], [3, 30, 300], [2, 20, 200], [5, 50, 500])]);
        var root = XDocument.Parse(SvgPlot.Render(plot)).Root!;
        var bands = root.Descendants(Svg + "polygon").Where(p => (string?)p.Attribute("class") == "band").ToList();
        Assert.Equal(2, bands.Count);
        Assert.All(bands, b => Assert.True(D(b, "fill-opacity") <= 0.15));
        var edges = root.Descendants(Svg + "path").Where(p => (string?)p.Attribute("class") == "band-edge").ToList();
        Assert.Equal(4, edges.Count);
        Assert.All(edges, e => Assert.NotNull(e.Attribute("stroke-dasharray")));
        Assert.Equal(2, edges.Count(e => (string?)e.Attribute("stroke") == SvgPlot.Palette[0]));
        Assert.Equal(2, edges.Count(e => (string?)e.Attribute("stroke") == SvgPlot.Palette[1]));
    }

    [Fact]
    public void Legend_WidensForLongNames_AndTheFigureGrowsForManySeries()
    {
        var many = Enumerable.Range(0, 20).Select(i => new Series($"spanner (compFactor={i * 1000.5}, lambda=0.01)", [1, 10], [i + 1, i + 2])).ToList();
        var root = XDocument.Parse(SvgPlot.Render(new LinePlot("l", "legend", new Axis("x"), new Axis("y"), many, BandNote: "line: median; band: 10–90 %"))).Root!;
        double width = D(root, "width"), height = D(root, "height");
        var legend = root.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == "legend").Elements(Svg + "text").ToList();
        Assert.Equal(22, legend.Count);
        // ≈ 7 px per character at 12 px: every name ends inside the figure, every line sits above its bottom.
        Assert.All(legend.Take(20), t => Assert.True(D(t, "x") + 7 * t.Value.Length <= width, $"'{t.Value}' is cut at width {width}"));
        Assert.All(legend, t => Assert.True(D(t, "y") <= height - 4, $"'{t.Value}' is below the figure"));
        var small = XDocument.Parse(SvgPlot.Render(new LinePlot("s", "s", new Axis("x"), new Axis("y"), [new Series("a", [1, 10], [1, 2])]))).Root!;
        Assert.Equal(760, D(small, "width"));
        Assert.Equal(460, D(small, "height"));
    }

    private static double D(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    private static (double X0, double Y0, double X1, double Y1) Bounds(XElement shape)
    {
        switch (shape.Name.LocalName)
        {
            case "circle":
                double cx = D(shape, "cx"), cy = D(shape, "cy"), r = D(shape, "r");
                return (cx - r, cy - r, cx + r, cy + r);
            case "rect":
                return (D(shape, "x"), D(shape, "y"), D(shape, "x") + D(shape, "width"), D(shape, "y") + D(shape, "height"));
            default:
                var pts = ((string)shape.Attribute("points")!).Split(' ').Select(p => p.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
                return (pts.Min(p => p[0]), pts.Min(p => p[1]), pts.Max(p => p[0]), pts.Max(p => p[1]));
        }
    }

    [Fact]
    public void LinearAxis_UsesInvariantCulture_WhateverTheCurrentCulture()
    {
        var saved = CultureInfo.CurrentCulture;
        try
        {
            var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            comma.NumberFormat.NumberDecimalSeparator = ",";
            CultureInfo.CurrentCulture = comma;
            var plot = new LinePlot("t2", "success", new Axis("B / C_cov", Log: true), new Axis("P[success]", Log: false, Min: 0, Max: 1),
                [new Series("spanner", [0.1, 1, 10, 100], [0, 0, 0.5, 1], [0, 0, 0.3, 0.8], [0.1, 0.2, 0.7, 1])], [new ReferenceLine(true, 1, "B = C_cov")]);
            var svg = SvgPlot.Render(plot);
            var doc = XDocument.Parse(svg);
            var texts = doc.Root!.Descendants(Svg + "text").Select(t => t.Value).ToList();
            Assert.Contains("0.2", texts);
            Assert.Contains("0.6", texts);
            Assert.Contains("10−1", texts); // the log x axis: powers of ten, a true minus sign
            Assert.DoesNotContain(texts, t => t.Contains("0,"));
            Assert.DoesNotContain("NaN", svg);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Stats_SlopeCrossoverQuantiles()
    {
        double[] x = [10, 100, 1000, 10000];
        Assert.Equal(1.0, LmExplore.Experiments.Reproduce.Stats.LogLogSlope(x, x.Select(v => 400 * v).ToArray()), 12);
        Assert.Equal(0.0, LmExplore.Experiments.Reproduce.Stats.LogLogSlope(x, [170, 170, 170, 170]), 12);
        Assert.Equal(10.0, LmExplore.Experiments.Reproduce.Stats.Crossover([1, 10, 100], [0, 0.5, 1]), 12);
        Assert.Equal(Math.Sqrt(10), LmExplore.Experiments.Reproduce.Stats.Crossover([1, 10, 100], [0, 1, 1]), 9); // 50 % halfway (in log) from 1 to 10
        Assert.True(double.IsNaN(LmExplore.Experiments.Reproduce.Stats.Crossover([1, 10], [0, 0.2])));
        Assert.Equal(2.5, LmExplore.Experiments.Reproduce.Stats.Median([1, 2, 3, 4]));
        Assert.Equal(1.3, LmExplore.Experiments.Reproduce.Stats.Quantile([1, 2, 3, 4], 0.1), 12);
        Assert.Equal(3.0, LmExplore.Experiments.Reproduce.Stats.MaxOverMin([100, 300, 200]), 12);
        var (lo, hi) = LmExplore.Experiments.Reproduce.Stats.Wilson(5, 10);
        Assert.True(lo < 0.5 && hi > 0.5 && lo > 0.2 && hi < 0.8);
    }
}

public class ReproduceTests
{
    [Fact]
    public void Select_ById_PartsByPrefix_UnknownIsBadInput()
    {
        Assert.Equal(["E3-dnf", "E3-needle"], ExperimentRegistry.Select(["e3"]).Select(e => e.Id));
        Assert.Equal(["E3-needle", "E1"], ExperimentRegistry.Select(["E3-needle", "E1"]).Select(e => e.Id));
        Assert.Equal(["E5"], ExperimentRegistry.Select(["E5", "e5"]).Select(e => e.Id));
        var e = Assert.Throws<InputException>(() => ExperimentRegistry.Select(["E3-"]));
        Assert.Contains("unknown experiment 'E3-'", e.Message);
        Assert.Throws<InputException>(() => ExperimentRegistry.Select(["E7"]));
    }

    private static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    [Theory]
    [InlineData("1.13e+5", true)]
    [InlineData("10755–12328", true)]
    [InlineData("8/8", true)]
    [InlineData("∞", true)]
    [InlineData("–", true)]
    [InlineData("passive", false)]
    [InlineData("near 0 (reported)", false)]
    [InlineData("", false)]
    public void NumberLikeCells_AreRecognized(string cell, bool numeric) => Assert.Equal(numeric, ReportHtml.IsNumberLike(cell));

    [Fact]
    public void QuickReproduce_WithFakeRuns_WritesReportFiguresCsvAndMeasuredFindings()
    {
        var dir = Fakes.TempDir();
        var outcome = Reproducer.Run(new ReproduceOptions(dir, Quick: true, Parallelism: 2), Fakes.Run);
        Assert.False(outcome.Cancelled);
        Assert.Equal(ExperimentRegistry.All.Count, outcome.Experiments.Count);
        var html = File.ReadAllText(outcome.ReportPath!);
        Assert.Contains("<svg", html);
        Assert.DoesNotContain("<script", html);
        // Readable at 1000 px: every table scrolls in its own box; number cells never wrap.
        Assert.Equal(CountOf(html, "<table"), CountOf(html, "<div class=\"scroll\"><table"));
        Assert.Contains("td.num { white-space: nowrap;", html);
        Assert.Contains("<td class=\"num\">", html);
        Assert.DoesNotContain("<td>1", html); // a cell starting with a digit is a number cell
        foreach (var e in ExperimentRegistry.All)
        {
            Assert.Contains(e.Claim.Split(' ')[0], html);
            var sub = Path.Combine(dir, e.Id);
            Assert.True(File.Exists(Path.Combine(sub, "sweep.json")));
            Assert.True(File.Exists(Path.Combine(sub, "results.jsonl")));
            var svgs = Directory.GetFiles(sub, "*.svg");
            Assert.NotEmpty(svgs);
            foreach (var svg in svgs) Assert.Equal("svg", XDocument.Load(svg).Root!.Name.LocalName);
            Assert.NotEmpty(Directory.GetFiles(sub, "*.csv"));
        }
        // The fake has the paper's laws built in; the analysis must measure them.
        var e1 = outcome.Experiments.Single(o => o.Experiment.Id == "E1").Report.Findings;
        Assert.InRange(e1.Single(f => f.Name.StartsWith("log-log slope of compute-to-ε")).Value, 0.9, 1.1);
        Assert.InRange(e1.Single(f => f.Name.StartsWith("max/min of data-to-ε")).Value, 1, 1.5);
        var e5 = outcome.Experiments.Single(o => o.Experiment.Id == "E5").Report.Findings;
        Assert.InRange(e5.Single(f => f.Name.StartsWith("passive: log-log slope")).Value, 0.8, 1.2);
        var e2 = outcome.Experiments.Single(o => o.Experiment.Id == "E2").Report.Findings;
        Assert.InRange(e2.Single(f => f.Name.StartsWith("spanner: crossover")).Value, 10, 100); // fake spanner needs ≈ 40·C_cov
        Assert.All(outcome.Experiments.SelectMany(o => o.Report.Findings), f => Assert.NotEqual(false, f.Pass));

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        Assert.Equal("quick", summary.RootElement.GetProperty("mode").GetString());
        Assert.Equal(ExperimentRegistry.All.Count, summary.RootElement.GetProperty("experiments").GetArrayLength());

        // Rerunning resumes: nothing is run again.
        int calls = 0;
        var again = Reproducer.Run(new ReproduceOptions(dir, Quick: true, Parallelism: 2), (r, ct) => { Interlocked.Increment(ref calls); return Fakes.Run(r, ct); });
        Assert.Equal(0, calls);
        Assert.Equal(outcome.Experiments.Sum(o => o.Plan.Runs.Count - o.Sweep.Skipped), again.Experiments.Sum(o => o.Sweep.AlreadyDone));
        Assert.Equal(outcome.Experiments.Sum(o => o.Sweep.Skipped), again.Experiments.Sum(o => o.Sweep.Skipped));
    }
}
