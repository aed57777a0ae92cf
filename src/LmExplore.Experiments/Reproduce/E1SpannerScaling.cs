using LmExplore.Experiments.Sweeps;
using LmExplore.Figures;

namespace LmExplore.Experiments.Reproduce;

/// <summary>
/// E1 (Thm 3.1): SpannerSampling on <c>needle</c> across C_cov. Measured, not assumed: compute-to-ε (the smallest
/// compute budget at which ≥ 90 % of seeds reach ε on the honest headline) should grow ∝ C_cov, and data-to-ε
/// (the smallest data budget likewise, under a large fixed compute budget) should stay flat.
/// </summary>
public sealed class E1SpannerScaling : IExperiment
{
    /// <summary>Compute budget while scanning data budgets: one number for every C_cov, ≥ 400·C_cov at the largest,
    /// so compute does not bind (2²²).</summary>
    public const long DataScanCompute = 1L << 22;

    /// <inheritdoc/>
    public string Id => "E1";
    /// <inheritdoc/>
    public string Title => "E1 — SpannerSampling: data-to-ε flat, compute-to-ε linear in coverage";
    /// <inheritdoc/>
    public string Claim => "SpannerSampling reaches ε-optimality with a number of reward queries independent of the coverage C_cov, while the sampling-oracle calls it needs grow linearly in C_cov (Thm 3.1) — both measured as the smallest budget at which 90 % of seeds reach ε.";

    /// <inheritdoc/>
    public string SweepConfigJson(bool quick) => $$"""
        {
          "format": "lmexplore.sweep/v1",
          "name": "E1{{(quick ? "-quick" : "")}}",
          "description": "compute-to-eps: compute budget m*C_cov over a sqrt(2) grid of m; data-to-eps: data budget over an absolute sqrt(2) grid with compute 2^22. {{NeedleSetup.Description}}",
          "sweepSeed": 1001,
          "instance": "needle",
          "instanceParams": {{NeedleSetup.InstanceParams}},
          "grid": { "ccov": {{(quick ? "[10, 100, 1000, 10000]" : "[10, 31.6, 100, 316, 1000, 3160, 10000]")}} },
          "algorithms": [
            { "name": "spanner", "label": "compute-scan", "params": { "epsilon": {{NeedleSetup.Epsilon}} },
              "vars": { "m": {{NeedleSetup.Multipliers(quick ? 4 : -2, quick ? 14 : 16)}} },
              "budgetComp": { "times": 1, "of": ["ccov", "m"] } },
            { "name": "spanner", "label": "data-scan", "params": { "epsilon": {{NeedleSetup.Epsilon}} },
              "vars": { "b": {{NeedleSetup.Grid(quick ? 16 : 4, quick ? 512 : 1024)}} },
              "budgetData": { "times": 1, "of": ["b"] }, "budgetComp": {{DataScanCompute}} }
          ],
          "seeds": {{(quick ? 5 : 10)}}
        }
        """;

    /// <inheritdoc/>
    public ExperimentReport Analyze(SweepPlan plan, IReadOnlyList<SweepRecord> records)
    {
        var x = new List<double>();
        var compToEps = new List<double>();
        var dataToEps = new List<double>();
        var rows = new List<IReadOnlyList<string>>();
        var notes = new List<string>();
        bool windowOk = true;
        foreach (var g in records.GroupBy(r => Analysis.Setting(r, "instance.ccov")).OrderBy(g => g.Key))
        {
            double cc = Stats.Median(g.Select(r => r.Result.CCov));
            var comp = Analysis.BudgetToEps(g.Where(r => Analysis.Text(r, "label") == "compute-scan"), "budget.comp", NeedleSetup.Delta);
            var data = Analysis.BudgetToEps(g.Where(r => Analysis.Text(r, "label") == "data-scan"), "budget.data", NeedleSetup.Delta);
            x.Add(cc);
            compToEps.Add(comp.Value);
            dataToEps.Add(data.Value);
            if (comp.AtFloor || comp.Budget is null || data.AtFloor || data.Budget is null) windowOk = false;
            if (comp.AtFloor) notes.Add($"C_cov = {Table.Fmt(g.Key)}: compute-to-ε is the smallest budget tried; the true value may be lower.");
            if (data.AtFloor) notes.Add($"C_cov = {Table.Fmt(g.Key)}: data-to-ε is the smallest budget tried; the true value may be lower.");
            rows.Add([Table.Fmt(g.Key), Table.Fmt(cc), Table.Fmt(comp.Value), Table.Fmt(comp.Value / cc), Table.Fmt(comp.MedianTComp), Table.Fmt(comp.MedianTData),
                Table.Fmt(data.Value), Table.Fmt(data.MedianTData), Table.Fmt(data.MedianTComp)]);
        }
        var plot = new LinePlot("e1-to-eps", "E1: SpannerSampling on needle — budget to reach ε vs coverage",
            new Axis("coverage C_cov(π*) (ratio, log scale)"), new Axis("smallest budget at which 90 % of seeds reach ε (count, log scale)"),
            [
                new Series("compute-to-ε (sampling-oracle calls)", x, compToEps),
                new Series("data-to-ε (reward queries)", x, dataToEps, Dashed: true),
            ], BandNote: "√2 budget grid; 5 (quick) or 10 seeds per budget");

        double slope = Stats.LogLogSlope(x, compToEps);
        double dataRatio = Stats.MaxOverMin(dataToEps);
        double maxPerCcov = compToEps.Zip(x, (c, cc) => c / cc).Max();
        var findings = new List<Finding>
        {
            Analysis.Between("log-log slope of compute-to-ε vs C_cov", slope, 0.8, 1.2, "between 0.8 and 1.2 (compute ∝ C_cov)"),
            Analysis.Between("largest compute-to-ε / C_cov", maxPerCcov, 0, 100, "at most 100 (defaults spend what the instance needs)"),
            Analysis.Between("max/min of data-to-ε across C_cov", dataRatio, 1, 3, "at most 3 (data flat)"),
            new("every frontier strictly inside its budget window", windowOk ? 1 : 0, windowOk ? "yes" : "no", "yes (else a value is censored)", windowOk),
        };
        var table = new Table("e1-table",
            "Per C_cov: compute-to-ε and data-to-ε (smallest √2-grid budget at which ≥ 90 % of seeds reach ε) and the medians actually spent there.",
            ["C_cov (grid)", "C_cov (measured)", "compute-to-ε", "compute-to-ε / C_cov", "T_comp spent", "T_data spent",
             "data-to-ε", "T_data spent (data scan)", "T_comp spent (data scan)"], rows);
        return new ExperimentReport([new Figure("e1-to-eps", "Compute-to-ε and data-to-ε of SpannerSampling against coverage.", plot)], [table], findings,
            [$"ε = {NeedleSetup.Epsilon}; success = reached_epsilon, scored on the law of the output sampler as a user draws it. " +
             $"Compute scan: budget m·C_cov, m on a √2 grid, no data budget. Data scan: data budgets on an absolute √2 grid with compute {DataScanCompute:N0} for every C_cov.", .. notes]);
    }
}
