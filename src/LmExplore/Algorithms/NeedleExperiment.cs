using System.Globalization;
using System.Text;
using LmExplore.Experiments;

namespace LmExplore.Algorithms;

/// <summary>
/// The must-show experiment of issue 2 (claims 1, 2 and 5 in miniature), console-free so the CLI, a slow test or a
/// notebook can call it: on needle instances (β = 0.1, R = 1, Gaussian σ = 0.1, d = 4, 8 prompts, 2000 responses)
/// with C_cov ∈ {10, 100, 1000, 10000}, SpannerSampling with ε = 0.008 and <c>--budget-comp 2000·C_cov</c>, then
/// Passive given 50× SpannerSampling's median T_data at the same C_cov as its data budget.
/// </summary>
public static class NeedleExperiment
{
    /// <summary>The C_cov values of the issue.</summary>
    public static IReadOnlyList<double> Coverages { get; } = [10, 100, 1000, 10000];

    /// <summary>ε of the issue (a tenth of the smallest gap J_opt − J_ref).</summary>
    public const double Epsilon = 0.008;

    /// <summary>One row: an algorithm at one C_cov and seed.</summary>
    public sealed record Row(double Coverage, string Algorithm, ulong Seed, long? BudgetComp, long? BudgetData, RunResult Result)
    {
        /// <summary>Suboptimality ≤ ε.</summary>
        public bool Success => Result.Suboptimality <= Epsilon;
    }

    /// <summary>The instance parameters at one C_cov.</summary>
    public static Dictionary<string, string> InstanceParams(double coverage) => new()
    {
        ["ccov"] = coverage.ToString("R", CultureInfo.InvariantCulture),
        ["beta"] = "0.1", ["R"] = "1", ["noise"] = "gaussian", ["sigma"] = "0.1",
        ["d"] = "4", ["prompts"] = "8", ["responses"] = "2000",
    };

    /// <summary>Runs the experiment (seeds 1..<paramref name="seeds"/>); optionally only some coverages.</summary>
    public static IReadOnlyList<Row> Run(int seeds = 3, IReadOnlyList<double>? coverages = null,
        IReadOnlyDictionary<string, string>? extraSpannerParams = null, bool passive = true, Action<Row>? onRow = null)
    {
        var rows = new List<Row>();
        foreach (double c in coverages ?? Coverages)
        {
            var spannerParams = new Dictionary<string, string> { ["epsilon"] = Epsilon.ToString("R", CultureInfo.InvariantCulture) };
            if (extraSpannerParams is not null) foreach (var (k, v) in extraSpannerParams) spannerParams[k] = v;
            long budgetComp = (long)(2000 * c);
            var tData = new List<long>();
            for (ulong seed = 1; seed <= (ulong)seeds; seed++)
            {
                var result = Runner.Run(new RunRequest("needle", InstanceParams(c), SpannerSampling.AlgorithmName, spannerParams, seed, BudgetComp: budgetComp));
                var row = new Row(c, SpannerSampling.AlgorithmName, seed, budgetComp, null, result);
                rows.Add(row);
                onRow?.Invoke(row);
                tData.Add(result.TData);
            }
            if (!passive) continue;
            tData.Sort();
            long budgetData = 50 * tData[tData.Count / 2];
            var passiveParams = new Dictionary<string, string> { ["epsilon"] = Epsilon.ToString("R", CultureInfo.InvariantCulture) };
            for (ulong seed = 1; seed <= (ulong)seeds; seed++)
            {
                var result = Runner.Run(new RunRequest("needle", InstanceParams(c), Passive.AlgorithmName, passiveParams, seed, BudgetData: budgetData));
                var row = new Row(c, Passive.AlgorithmName, seed, null, budgetData, result);
                rows.Add(row);
                onRow?.Invoke(row);
            }
        }
        return rows;
    }

    /// <summary>A Markdown table of the rows.</summary>
    public static string Markdown(IEnumerable<Row> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| C_cov | algorithm | seed | budget | status | T_data | T_comp | suboptimality | success | output_sample_cost | spanner / rounds | wall s |");
        sb.AppendLine("|---:|---|---:|---|---|---:|---:|---:|:---:|---:|---|---:|");
        foreach (var r in rows)
        {
            var res = r.Result;
            string budget = r.BudgetComp is long bc ? $"comp {bc}" : r.BudgetData is long bd ? $"data {bd}" : "—";
            string extra = r.Algorithm == SpannerSampling.AlgorithmName
                ? $"Ψ={Get(res, "spanner_size")}, T_exp={Get(res, "exploration_rounds")}, M={Get(res, "rejection_coverage"):G3}"
                : $"pairs={Get(res, "pairs")}";
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Coverage:G} | {r.Algorithm} | {r.Seed} | {budget} | {res.Status} | {res.TData} | {res.TComp} | {res.Suboptimality:G3} | {(r.Success ? "yes" : "no")} | {res.OutputSampleCost:G3} | {extra} | {res.WallSeconds:F2} |"));
        }
        return sb.ToString();
    }

    private static double Get(RunResult r, string key) => r.Diagnostics.TryGetValue(key, out var v) ? v : double.NaN;
}
