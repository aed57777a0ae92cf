using LmExplore.Experiments.Sweeps;
using LmExplore.Figures;

namespace LmExplore.Experiments.Reproduce;

/// <summary>
/// E1 (Thm 3.1): SpannerSampling on <c>needle</c> across C_cov = 10 … 10^5. Expect T_data flat in C_cov
/// (within 3×), T_comp ∝ C_cov (log-log slope 0.7–1.3), suboptimality ≤ ε.
/// </summary>
public sealed class E1SpannerScaling : IExperiment
{
    /// <summary>Target accuracy ε (a tenth of the smallest gap J_opt − J_ref on these instances, ≈ 0.35 at C_cov = 10^5).</summary>
    public const double Epsilon = 0.01;

    /// <inheritdoc/>
    public string Id => "E1";
    /// <inheritdoc/>
    public string Title => "E1 — SpannerSampling: data flat, compute linear in coverage";
    /// <inheritdoc/>
    public string Claim => "SpannerSampling reaches ε-optimality with a number of reward queries T_data independent of the coverage C_cov, while its sampling-oracle calls T_comp grow linearly in C_cov (Thm 3.1).";

    /// <inheritdoc/>
    public string SweepConfigJson(bool quick) => $$"""
        {
          "format": "lmexplore.sweep/v1",
          "name": "E1{{(quick ? "-quick" : "")}}",
          "description": "SpannerSampling across C_cov on needle (R=1.5 so that C_cov=1e5 < e^(R/beta))",
          "sweepSeed": 1001,
          "instance": "needle",
          "instanceParams": { "R": 1.5, "beta": 0.1, "d": 4, "prompts": 8, "responses": 2000, "noise": "gaussian", "sigma": 0.1 },
          "grid": { "ccov": {{(quick ? "[10, 100, 1000, 10000, 100000]" : "[10, 31.6, 100, 316, 1000, 3160, 10000, 31600, 100000]")}} },
          "algorithms": [ { "name": "spanner", "params": { "epsilon": {{Epsilon}} } } ],
          "budgetComp": { "times": 2000, "of": "ccov" },
          "seeds": {{(quick ? 8 : 20)}}
        }
        """;

    /// <inheritdoc/>
    public ExperimentReport Analyze(SweepPlan plan, IReadOnlyList<SweepRecord> records)
    {
        var groups = records.Where(r => Analysis.Text(r, "algorithm") == "spanner")
            .GroupBy(r => Analysis.Setting(r, "instance.ccov")).OrderBy(g => g.Key).ToList();
        var x = new List<double>();
        var data = new List<(double M, double Lo, double Hi)>();
        var comp = new List<(double M, double Lo, double Hi)>();
        var sub = new List<(double M, double Lo, double Hi)>();
        var rows = new List<IReadOnlyList<string>>();
        foreach (var g in groups)
        {
            double cc = Stats.Median(g.Select(r => r.Result.CCov));
            x.Add(cc);
            var d = Analysis.Spread(g.Select(r => (double)r.Result.TData));
            var c = Analysis.Spread(g.Select(r => (double)r.Result.TComp));
            var s = Analysis.Spread(g.Select(r => r.Result.Suboptimality));
            data.Add(d); comp.Add(c); sub.Add(s);
            int ok = g.Count(r => Analysis.Succeeded(r, Epsilon));
            rows.Add([Table.Fmt(g.Key), Table.Fmt(cc), g.Count().ToString(), Table.Fmt(d.M), $"{Table.Fmt(d.Lo)}–{Table.Fmt(d.Hi)}",
                Table.Fmt(c.M), $"{Table.Fmt(c.Lo)}–{Table.Fmt(c.Hi)}", Table.Fmt(c.M / cc), Table.Fmt(s.M), $"{ok}/{g.Count()}",
                string.Join(" ", g.Select(r => r.Result.Status).Distinct().Order()), Table.Fmt(Stats.Median(g.Select(r => r.Result.WallSeconds)))]);
        }
        var calls = new LinePlot("e1-calls", "E1: SpannerSampling on needle — oracle calls vs coverage",
            new Axis("coverage C_cov(π*) (ratio, log scale)"), new Axis("oracle calls (count, log scale)"),
            [
                new Series("T_comp (samples)", x, comp.Select(p => p.M).ToList(), comp.Select(p => p.Lo).ToList(), comp.Select(p => p.Hi).ToList()),
                new Series("T_data (rewards)", x, data.Select(p => p.M).ToList(), data.Select(p => p.Lo).ToList(), data.Select(p => p.Hi).ToList(), Dashed: true),
            ], BandNote: "line: median; band: 10–90 % over seeds");
        var subPlot = new LinePlot("e1-subopt", "E1: suboptimality J(π*) − J(π̂) of the output policy",
            new Axis("coverage C_cov(π*) (ratio, log scale)"), new Axis("suboptimality (reward units, log scale)"),
            [new Series("SpannerSampling", x, sub.Select(p => p.M).ToList(), sub.Select(p => p.Lo).ToList(), sub.Select(p => p.Hi).ToList())],
            [new ReferenceLine(false, Epsilon, $"ε = {Epsilon}")], "line: median; band: 10–90 % over seeds");

        double slope = Stats.LogLogSlope(x, comp.Select(p => p.M).ToList());
        double dataSlope = Stats.LogLogSlope(x, data.Select(p => p.M).ToList());
        double ratio = Stats.MaxOverMin(data.Select(p => p.M));
        int total = records.Count, succeeded = records.Count(r => Analysis.Succeeded(r, Epsilon));
        var findings = new List<Finding>
        {
            Analysis.Between("log-log slope of median T_comp vs C_cov", slope, 0.7, 1.3, "between 0.7 and 1.3 (T_comp ∝ C_cov)"),
            Analysis.Between("max/min of median T_data across C_cov", ratio, 1, 3, "at most 3 (T_data flat)"),
            new("log-log slope of median T_data vs C_cov", dataSlope, Table.Fmt(dataSlope), "near 0 (reported, not checked)", null),
            new("runs with suboptimality ≤ ε", (double)succeeded / Math.Max(1, total), $"{succeeded}/{total}", "at least 2/3 of the runs", total > 0 && succeeded * 3 >= total * 2),
        };
        var table = new Table("e1-table", "Per C_cov (nominal grid value): measured C_cov(π*), medians and 10–90 % ranges over seeds.",
            ["C_cov (grid)", "C_cov (measured)", "runs", "T_data median", "T_data 10–90 %", "T_comp median", "T_comp 10–90 %", "T_comp / C_cov",
             "suboptimality median", "≤ ε", "status", "wall s (median)"], rows);
        return new ExperimentReport([new Figure("e1-calls", "Oracle calls of SpannerSampling against coverage.", calls),
            new Figure("e1-subopt", "Suboptimality of the output policy (exact evaluation) against coverage.", subPlot)], [table], findings,
            [$"ε = {Epsilon}; compute budget 2000·C_cov per run; success = exact suboptimality ≤ ε."]);
    }
}
