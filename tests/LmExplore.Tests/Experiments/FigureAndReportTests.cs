using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using LmExplore.Experiments.Reproduce;
using LmExplore.Figures;

namespace LmExplore.Tests.Experiments;

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
        Assert.Contains("10", texts);
        Assert.Contains("1000", texts);
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
            Assert.Contains("0.1", texts);
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
        Assert.Equal(1.0, Stats.LogLogSlope(x, x.Select(v => 400 * v).ToArray()), 12);
        Assert.Equal(0.0, Stats.LogLogSlope(x, [170, 170, 170, 170]), 12);
        Assert.Equal(10.0, Stats.Crossover([1, 10, 100], [0, 0.5, 1]), 12);
        Assert.Equal(Math.Sqrt(10), Stats.Crossover([1, 10, 100], [0, 1, 1]), 9); // 50 % halfway (in log) from 1 to 10
        Assert.True(double.IsNaN(Stats.Crossover([1, 10], [0, 0.2])));
        Assert.Equal(2.5, Stats.Median([1, 2, 3, 4]));
        Assert.Equal(1.3, Stats.Quantile([1, 2, 3, 4], 0.1), 12);
        Assert.Equal(3.0, Stats.MaxOverMin([100, 300, 200]), 12);
        var (lo, hi) = Stats.Wilson(5, 10);
        Assert.True(lo < 0.5 && hi > 0.5 && lo > 0.2 && hi < 0.8);
    }
}

public class ReproduceTests
{
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
        Assert.Equal(outcome.Experiments.Sum(o => o.Plan.Runs.Count), again.Experiments.Sum(o => o.Sweep.AlreadyDone));
    }
}
