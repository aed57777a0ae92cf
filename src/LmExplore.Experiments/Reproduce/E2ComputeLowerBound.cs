using LmExplore.Experiments.Sweeps;
using LmExplore.Figures;

namespace LmExplore.Experiments.Reproduce;

/// <summary>
/// E2 (Thm 2.1): on <c>needle</c>, the success probability of every algorithm against its compute budget
/// B measured in units of C_cov. Expect every algorithm to fail below B ≈ C_cov.
/// </summary>
public sealed class E2ComputeLowerBound : IExperiment
{
    /// <inheritdoc/>
    public string Id => "E2";
    /// <inheritdoc/>
    public string Title => "E2 — no algorithm succeeds with fewer than ≈ C_cov samples";
    /// <inheritdoc/>
    public string Claim => "Coverage is necessary for compute: with a sampling-oracle budget B below about C_cov, every algorithm (that does not spend |Y|-many reward queries) fails to find an ε-optimal policy (Thm 2.1).";

    /// <inheritdoc/>
    public string SweepConfigJson(bool quick) => $$"""
        {
          "format": "lmexplore.sweep/v1",
          "name": "E2{{(quick ? "-quick" : "")}}",
          "description": "success probability vs compute budget B = compFactor * C_cov; Passive spends its compute on pairs (B/2 reward queries). {{NeedleSetup.Description}}",
          "sweepSeed": 2002,
          "instance": "needle",
          "instanceParams": {{NeedleSetup.InstanceParams}},
          "grid": { "ccov": [100, 1000, 10000] },
          "algorithms": [
            { "name": "spanner", "params": { "epsilon": {{NeedleSetup.Epsilon}} },
              "vars": { "compFactor": {{(quick ? "[0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300]" : "[0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000]")}} } },
            { "name": "passive", "params": { "epsilon": {{NeedleSetup.Epsilon}} },
              "vars": { "compFactor": {{(quick ? "[0.03, 0.1, 0.3, 1, 3, 10, 30, 100]" : "[0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300]")}} } }
          ],
          "budgetComp": { "times": 1, "of": ["ccov", "compFactor"] },
          "seeds": {{(quick ? 5 : 16)}}
        }
        """;

    /// <inheritdoc/>
    public ExperimentReport Analyze(SweepPlan plan, IReadOnlyList<SweepRecord> records)
    {
        var series = new List<Series>();
        var findings = new List<Finding>();
        var rows = new List<IReadOnlyList<string>>();
        var factors = records.Select(r => Analysis.Setting(r, "var.compFactor")).Distinct().Order().ToList();
        foreach (var algo in records.GroupBy(r => Analysis.Text(r, "label")).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            // Pooled over C_cov: the claim is that B/C_cov alone decides success.
            var byFactor = algo.GroupBy(r => Analysis.Setting(r, "var.compFactor")).OrderBy(g => g.Key).ToList();
            var x = byFactor.Select(g => g.Key).ToList();
            var rate = new List<double>();
            var lo = new List<double>();
            var hi = new List<double>();
            foreach (var g in byFactor)
            {
                int ok = g.Count(r => Analysis.Succeeded(r)), n = g.Count();
                rate.Add((double)ok / n);
                var (l, h) = Stats.Wilson(ok, n);
                lo.Add(l); hi.Add(h);
            }
            series.Add(new Series(algo.Key, x, rate, lo, hi));
            double crossover = Stats.Crossover(x, rate);
            // Seeing the needle at all takes ≈ C_cov samples: P[success] ≲ B/C_cov, so at B ≤ 0.1·C_cov a rate above 0.25 contradicts the claim.
            double below = byFactor.Where(g => g.Key <= 0.1 + 1e-12).Select(g => (double)g.Count(r => Analysis.Succeeded(r)) / g.Count()).DefaultIfEmpty(double.NaN).Max();
            findings.Add(new Finding($"{algo.Key}: crossover B/C_cov where success ≥ 50 %", crossover,
                double.IsNaN(crossover) ? "never reached" : Table.Fmt(crossover), "≥ 0.5 (no success with much less than C_cov samples)",
                double.IsNaN(crossover) || crossover >= 0.5));
            findings.Add(new Finding($"{algo.Key}: highest success rate at B ≤ 0.1·C_cov", below, Table.Fmt(below), "≤ 0.25 (theory: P ≲ B/C_cov)", double.IsNaN(below) ? null : below <= 0.25));
            foreach (var byCcov in algo.GroupBy(r => Analysis.Setting(r, "instance.ccov")).OrderBy(g => g.Key))
            {
                var f = byCcov.GroupBy(r => Analysis.Setting(r, "var.compFactor")).OrderBy(g => g.Key).ToList();
                var fx = f.Select(g => g.Key).ToList();
                var fr = f.Select(g => (double)g.Count(r => Analysis.Succeeded(r)) / g.Count()).ToList();
                double cc = Stats.Median(byCcov.Select(r => r.Result.CCov));
                rows.Add([algo.Key, Table.Fmt(byCcov.Key), Table.Fmt(cc), Table.Fmt(Stats.Crossover(fx, fr)),
                    .. factors.Select(fa => f.FirstOrDefault(g => g.Key == fa) is { } g ? $"{g.Count(r => Analysis.Succeeded(r))}/{g.Count()}" : "–")]);
            }
        }
        var plot = new LinePlot("e2-success", "E2: success probability vs compute budget (needle)",
            new Axis("compute budget B / C_cov (sampling-oracle calls per unit coverage, log scale)"),
            new Axis("success probability P[suboptimality ≤ ε]", Log: false, Min: 0, Max: 1),
            series, [new ReferenceLine(true, 1, "B = C_cov")], "line: rate over C_cov × seeds; band: 80 % Wilson interval");
        var table = new Table("e2-table", "Successes per algorithm and C_cov at each budget B/C_cov; crossover = B/C_cov where success first reaches 50 % (log-interpolated).",
            ["algorithm", "C_cov (grid)", "C_cov (measured)", "crossover B/C_cov", .. factors.Select(f => $"B/C_cov={Table.Fmt(f)}")], rows);
        return new ExperimentReport([new Figure("e2-success", "Success probability against the compute budget in units of C_cov.", plot)], [table], findings,
            [$"ε = {NeedleSetup.Epsilon}; success = reached_epsilon on the law of the output sampler as it runs (a run that exhausts its budget is judged by what it learned by then)."]);
    }
}
