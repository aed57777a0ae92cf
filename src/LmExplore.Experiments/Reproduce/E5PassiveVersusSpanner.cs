using LmExplore.Experiments.Sweeps;
using LmExplore.Figures;

namespace LmExplore.Experiments.Reproduce;

/// <summary>
/// E5: data-to-ε of Passive (random pairs from π_ref) against SpannerSampling on <c>needle</c>: Passive's should grow
/// ∝ C_cov, SpannerSampling's stay flat. Both scanned over √2 grids of data budgets — SpannerSampling's absolute,
/// Passive's f·C_cov (a window relative to C_cov keeps the run count down; the findings check that every frontier
/// lies strictly inside its window, so the window cannot fake the slope) — Passive with unlimited compute,
/// SpannerSampling with one fixed compute budget for every C_cov.
/// </summary>
public sealed class E5PassiveVersusSpanner : IExperiment
{
    /// <inheritdoc/>
    public string Id => "E5";
    /// <inheritdoc/>
    public string Title => "E5 — Passive needs data ∝ C_cov, SpannerSampling does not";
    /// <inheritdoc/>
    public string Claim => "Using the base model to choose which responses to label pays: Passive (random pairs from π_ref) needs a number of reward queries proportional to C_cov to reach ε, SpannerSampling a number independent of C_cov.";

    /// <inheritdoc/>
    public string SweepConfigJson(bool quick) => $$"""
        {
          "format": "lmexplore.sweep/v1",
          "name": "E5{{(quick ? "-quick" : "")}}",
          "description": "data-to-eps over sqrt(2) grids of data budgets (Passive: f*C_cov; SpannerSampling: absolute); Passive with unlimited compute, SpannerSampling with compute {{E1SpannerScaling.DataScanCompute}}. {{NeedleSetup.Description}}",
          "sweepSeed": 5005,
          "instance": "needle",
          "instanceParams": {{NeedleSetup.InstanceParams}},
          "grid": { "ccov": {{(quick ? "[10, 100, 1000, 10000]" : "[10, 31.6, 100, 316, 1000, 3160, 10000]")}} },
          "algorithms": [
            { "name": "spanner", "params": { "epsilon": {{NeedleSetup.Epsilon}} },
              "vars": { "b": {{NeedleSetup.Grid(quick ? 16 : 4, quick ? 512 : 1024)}} },
              "budgetData": { "times": 1, "of": ["b"] }, "budgetComp": {{E1SpannerScaling.DataScanCompute}} },
            { "name": "passive", "params": { "epsilon": {{NeedleSetup.Epsilon}} },
              "vars": { "f": {{NeedleSetup.Multipliers(quick ? 0 : -6, 20)}} },
              "budgetData": { "times": 1, "of": ["ccov", "f"] } }
          ],
          "seeds": {{(quick ? 5 : 10)}}
        }
        """;

    /// <inheritdoc/>
    public ExperimentReport Analyze(SweepPlan plan, IReadOnlyList<SweepRecord> records)
    {
        var series = new List<Series>();
        var findings = new List<Finding>();
        var rows = new List<IReadOnlyList<string>>();
        var notes = new List<string>();
        foreach (var algo in records.GroupBy(r => Analysis.Text(r, "label")).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var x = new List<double>();
            var toEps = new List<double>();
            bool censored = false;
            foreach (var byCcov in algo.GroupBy(r => Analysis.Setting(r, "instance.ccov")).OrderBy(g => g.Key))
            {
                double cc = Stats.Median(byCcov.Select(r => r.Result.CCov));
                var t = Analysis.BudgetToEps(byCcov, "budget.data", NeedleSetup.Delta);
                x.Add(cc);
                toEps.Add(t.Value);
                if (t.AtFloor || t.Budget is null) censored = true;
                if (t.AtFloor) notes.Add($"{algo.Key} at C_cov = {Table.Fmt(byCcov.Key)}: data-to-ε is the smallest budget tried; the true value may be lower.");
                if (t.Budget is null) notes.Add($"{algo.Key} at C_cov = {Table.Fmt(byCcov.Key)}: no data budget up to {Table.Fmt(t.LargestTried)} reached ε on 90 % of seeds.");
                rows.Add([algo.Key, Table.Fmt(byCcov.Key), Table.Fmt(cc), Table.Fmt(t.Value), Table.Fmt(t.Value / cc), Table.Fmt(t.MedianTData),
                    Table.Fmt(t.MedianTComp), $"{t.Reached}/{t.Runs}", Table.Fmt(t.LargestTried)]);
            }
            series.Add(new Series(algo.Key, x, toEps, Dashed: algo.Key == "spanner"));
            double slope = Stats.LogLogSlope(x, toEps);
            double ratio = Stats.MaxOverMin(toEps);
            if (algo.Key == "passive")
                findings.Add(Analysis.Between("passive: log-log slope of data-to-ε vs C_cov", slope, 0.7, double.PositiveInfinity, "at least 0.7 (data grows with C_cov)"));
            else
                findings.Add(Analysis.Between($"{algo.Key}: max/min of data-to-ε across C_cov", ratio, 1, 3, "at most 3 (flat)"));
            findings.Add(new Finding($"{algo.Key}: every data-to-ε strictly inside the grid", censored ? 0 : 1, censored ? "no" : "yes", "yes (else a value is censored)", !censored));
        }
        var plot = new LinePlot("e5-data", "E5: reward queries to reach ε — Passive vs SpannerSampling (needle)",
            new Axis("coverage C_cov(π*) (ratio, log scale)"), new Axis("data-to-ε: smallest data budget at which 90 % of seeds reach ε (log scale)"),
            series, null, "√2 budget grid; 5 (quick) or 10 seeds per budget");
        var table = new Table("e5-table", "Data-to-ε per algorithm and C_cov (smallest √2-grid data budget at which ≥ 90 % of seeds reach ε) and the medians spent there.",
            ["algorithm", "C_cov (grid)", "C_cov (measured)", "data-to-ε", "data-to-ε / C_cov", "T_data spent", "T_comp spent", "seeds reaching ε", "largest budget tried"], rows);
        return new ExperimentReport([new Figure("e5-data", "Reward queries needed to reach ε against coverage.", plot)], [table], findings,
            [$"ε = {NeedleSetup.Epsilon}; success = reached_epsilon on the law of the output sampler as it runs. Passive: data budgets f·C_cov (f on a √2 grid), 2 reward queries per pair, unlimited compute. SpannerSampling: absolute data budgets, compute {E1SpannerScaling.DataScanCompute:N0} for every C_cov.", .. notes]);
    }
}
