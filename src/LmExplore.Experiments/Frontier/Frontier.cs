using LmExplore.Runs;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LmExplore.Experiments.Frontier;

/// <summary>What <see cref="FrontierSearch"/> measures: one instance, one algorithm, a seed list and two budget grids.</summary>
/// <param name="Instance">Family name or instance file.</param>
/// <param name="InstanceParams">Family parameters.</param>
/// <param name="Algorithm">Algorithm name.</param>
/// <param name="AlgoParams">Algorithm parameters (ε among them).</param>
/// <param name="Seeds">Run seeds; a budget succeeds when at least ⌈(1 − δ)·|seeds|⌉ of them reach ε.</param>
/// <param name="Delta">δ: the fraction of seeds allowed to miss ε.</param>
/// <param name="Ratio">Geometric grid ratio (≤ √2 for the published numbers).</param>
/// <param name="CompFrom">First compute budget of the grid.</param>
/// <param name="CompTo">Largest compute budget tried.</param>
/// <param name="DataFrom">First data budget of the grid.</param>
/// <param name="DataTo">Largest data budget tried.</param>
/// <param name="DataScanComp">Compute budget while scanning data budgets; null = 2 × compute-to-ε (unbudgeted if none was found).</param>
/// <param name="Parallelism">Concurrent runs.</param>
public sealed record FrontierRequest(
    string Instance, IReadOnlyDictionary<string, string> InstanceParams, string Algorithm, IReadOnlyDictionary<string, string> AlgoParams,
    IReadOnlyList<ulong> Seeds, double Delta = 0.1, double Ratio = 1.4142135623730951,
    long CompFrom = 16, long CompTo = 1_000_000_000, long DataFrom = 4, long DataTo = 10_000_000, long? DataScanComp = null,
    int Parallelism = 0)
{
    /// <summary>Seeds that must reach ε at a budget for it to count: ⌈(1 − δ)·|seeds|⌉.</summary>
    public int Required => BudgetToEpsilon.RequiredSuccesses(Delta, Seeds.Count);
}

/// <summary>One budget of a scan: how many seeds reached ε there and what they spent.</summary>
/// <param name="Kind"><c>comp</c> (a compute budget), <c>tokens</c> (the compute budget of a token-level algorithm, in
/// token calls) or <c>data</c> (a data budget).</param>
/// <param name="Budget">The budget.</param>
/// <param name="BudgetComp">The compute budget in force (equal to <paramref name="Budget"/> for <c>comp</c>).</param>
/// <param name="Reached">Seeds whose honest headline reached ε.</param>
/// <param name="Runs">Seeds run.</param>
/// <param name="MedianTData">Median T_data spent.</param>
/// <param name="MedianTComp">Median T_comp spent.</param>
/// <param name="MedianSuboptimality">Median suboptimality.</param>
/// <param name="MedianOutputSampleCost">Median expected oracle calls per output draw.</param>
/// <param name="MedianTTokens">Median T_tokens spent.</param>
public sealed record BudgetPoint(string Kind, long Budget, long? BudgetComp, int Reached, int Runs, double MedianTData, double MedianTComp,
    double MedianSuboptimality, double MedianOutputSampleCost, double MedianTTokens = double.NaN)
{
    /// <summary>Reached / Runs.</summary>
    public double Rate => (double)Reached / Runs;
}

/// <summary>The measured frontier.</summary>
/// <param name="Request">What was asked.</param>
/// <param name="Epsilon">ε of the runs.</param>
/// <param name="ComputeToEps">Smallest compute budget on the grid at which the required seeds reach ε, or null.</param>
/// <param name="DataToEps">Smallest data budget likewise (under <paramref name="DataScanComp"/>), or null.</param>
/// <param name="DataScanComp">The compute budget used while scanning data budgets (null = none).</param>
/// <param name="SuccessByBudget">Every budget tried, in order.</param>
/// <param name="WallSeconds">Wall time of the search.</param>
public sealed record FrontierResult(FrontierRequest Request, double Epsilon, long? ComputeToEps, long? DataToEps, long? DataScanComp,
    IReadOnlyList<BudgetPoint> SuccessByBudget, double WallSeconds)
{
    /// <summary>The point at compute-to-ε, if any.</summary>
    public BudgetPoint? AtComputeToEps => SuccessByBudget.FirstOrDefault(p => p.Kind is "comp" or "tokens" && p.Budget == ComputeToEps);
    /// <summary>The point at data-to-ε, if any.</summary>
    public BudgetPoint? AtDataToEps => SuccessByBudget.FirstOrDefault(p => p.Kind == "data" && p.Budget == DataToEps);
}

/// <summary>
/// Measures compute-to-ε and data-to-ε: the smallest budgets, on a geometric grid, at which at least a (1 − δ)
/// fraction of seeds reach ε on the honest headline (the law of the output sampler as it runs). The compute scan
/// gives only a compute budget; the data scan gives a data budget under a fixed compute budget (by default twice
/// compute-to-ε, so that compute is not what binds). Each scan walks the grid upward and stops at the first budget
/// that succeeds — the answer comes from the algorithm, not from a budget chosen in proportion to it.
/// </summary>
public static class FrontierSearch
{
    /// <summary>Runs both scans. <paramref name="runOne"/> defaults to <see cref="Runner.Run"/>.</summary>
    public static FrontierResult Run(FrontierRequest request, Func<RunRequest, CancellationToken, RunResult>? runOne = null,
        Action<BudgetPoint>? onPoint = null, CancellationToken cancellationToken = default)
    {
        Validate(request);
        runOne ??= (r, ct) => Runner.Run(r, null, ct);
        // A token-level algorithm (mtss) spends token calls, not sequence samples: its compute budget is T_tokens.
        bool tokens = Algorithms.AlgorithmRegistry.IsTokenLevel(request.Algorithm);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var points = new List<BudgetPoint>();
        double epsilon = double.NaN;

        BudgetPoint Measure(string kind, long budget, long? budgetComp, long? budgetData)
        {
            var results = new RunResult[request.Seeds.Count];
            var options = new ParallelOptions
            {
                MaxDegreeOfParallelism = request.Parallelism > 0 ? request.Parallelism : Environment.ProcessorCount,
                CancellationToken = cancellationToken,
            };
            Parallel.For(0, results.Length, options, i => results[i] = runOne(new RunRequest(request.Instance, request.InstanceParams,
                request.Algorithm, request.AlgoParams, request.Seeds[i], BudgetComp: tokens ? null : budgetComp, BudgetData: budgetData,
                BudgetTokens: tokens ? budgetComp : null), cancellationToken));
            epsilon = results[0].Epsilon;
            var point = new BudgetPoint(kind, budget, budgetComp, results.Count(r => r.ReachedEpsilon), results.Length,
                Median(results.Select(r => (double)r.TData)), Median(results.Select(r => (double)r.TComp)),
                Median(results.Select(r => r.Suboptimality)), Median(results.Select(r => r.OutputSampleCost)),
                Median(results.Select(r => (double)r.TTokens)));
            points.Add(point);
            onPoint?.Invoke(point);
            return point;
        }

        long? Scan(IReadOnlyList<long> grid, Func<long, BudgetPoint> measure) =>
            BudgetToEpsilon.FirstSuccess(grid.Select(b => measure(b)).Select(p => (p.Reached, p.Runs)), request.Delta) is int k ? grid[k] : null;

        long? computeToEps = Scan(Grid(request.CompFrom, request.CompTo, request.Ratio).ToList(), b => Measure(tokens ? "tokens" : "comp", b, b, null));
        long? scanComp = request.DataScanComp ?? (computeToEps is long c ? checked(2 * c) : null);
        long? dataToEps = Scan(Grid(request.DataFrom, request.DataTo, request.Ratio).ToList(), b => Measure("data", b, scanComp, b));

        return new FrontierResult(request, epsilon, computeToEps, dataToEps, scanComp, points, clock.Elapsed.TotalSeconds);
    }

    /// <summary>⌈from·ratio^k⌉ for k = 0, 1, … up to <paramref name="to"/> (strictly increasing integers).</summary>
    public static IEnumerable<long> Grid(long from, long to, double ratio)
    {
        long last = -1;
        for (double b = from; b <= to * (1 + 1e-12); b *= ratio)
        {
            long v = (long)Math.Ceiling(b - 1e-9);
            if (v > last) { yield return v; last = v; }
        }
    }

    private static void Validate(FrontierRequest r)
    {
        if (r.Seeds.Count == 0) throw new InputException("frontier needs at least one seed");
        if (!(r.Delta >= 0 && r.Delta < 1)) throw new InputException($"--delta must lie in [0, 1), got {r.Delta.ToString(CultureInfo.InvariantCulture)}");
        if (!(r.Ratio > 1 && r.Ratio <= 4)) throw new InputException($"--ratio must lie in (1, 4], got {r.Ratio.ToString(CultureInfo.InvariantCulture)}");
        if (r.CompFrom < 1 || r.CompTo < r.CompFrom) throw new InputException($"compute grid must satisfy 1 ≤ from ≤ to, got {r.CompFrom}..{r.CompTo}");
        if (r.DataFrom < 1 || r.DataTo < r.DataFrom) throw new InputException($"data grid must satisfy 1 ≤ from ≤ to, got {r.DataFrom}..{r.DataTo}");
        if (r.DataScanComp is < 1) throw new InputException("--data-scan-comp must be at least 1");
    }

    private static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : 0.5 * (v[v.Length / 2 - 1] + v[v.Length / 2]);
    }

    /// <summary>The result as one JSON object (fields <c>compute_to_eps</c>, <c>data_to_eps</c>, <c>success_by_budget</c>, …).</summary>
    public static string ToJson(FrontierResult f, bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented }))
        {
            w.WriteStartObject();
            w.WriteString("instance", f.Request.Instance);
            w.WriteStartObject("params");
            foreach (var (k, v) in f.Request.InstanceParams.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteString("algorithm", f.Request.Algorithm);
            w.WriteStartObject("algo_params");
            foreach (var (k, v) in f.Request.AlgoParams.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
            w.WriteEndObject();
            w.WriteStartArray("seeds");
            foreach (var s in f.Request.Seeds) w.WriteNumberValue(s);
            w.WriteEndArray();
            w.WriteNumber("delta", f.Request.Delta);
            w.WriteNumber("ratio", f.Request.Ratio);
            if (double.IsFinite(f.Epsilon)) w.WriteNumber("epsilon", f.Epsilon); else w.WriteNull("epsilon");
            w.WriteString("compute_budget", Algorithms.AlgorithmRegistry.IsTokenLevel(f.Request.Algorithm) ? "T_tokens" : "T_comp");
            Nullable(w, "compute_to_eps", f.ComputeToEps);
            Nullable(w, "data_to_eps", f.DataToEps);
            Nullable(w, "data_scan_budget_comp", f.DataScanComp);
            Spent(w, "at_compute_to_eps", f.AtComputeToEps);
            Spent(w, "at_data_to_eps", f.AtDataToEps);
            w.WriteStartArray("success_by_budget");
            foreach (var p in f.SuccessByBudget)
            {
                w.WriteStartObject();
                w.WriteString("kind", p.Kind);
                w.WriteNumber("budget", p.Budget);
                Nullable(w, "budget_comp", p.BudgetComp);
                w.WriteNumber("reached", p.Reached);
                w.WriteNumber("runs", p.Runs);
                w.WriteNumber("rate", p.Rate);
                w.WriteNumber("T_data_median", p.MedianTData);
                w.WriteNumber("T_comp_median", p.MedianTComp);
                if (double.IsFinite(p.MedianTTokens)) w.WriteNumber("T_tokens_median", p.MedianTTokens);
                if (double.IsFinite(p.MedianSuboptimality)) w.WriteNumber("suboptimality_median", p.MedianSuboptimality);
                else w.WriteNull("suboptimality_median");
                if (double.IsFinite(p.MedianOutputSampleCost)) w.WriteNumber("output_sample_cost_median", p.MedianOutputSampleCost);
                else w.WriteNull("output_sample_cost_median");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("wall_seconds", f.WallSeconds);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Nullable(Utf8JsonWriter w, string name, long? value)
    {
        if (value is long v) w.WriteNumber(name, v); else w.WriteNull(name);
    }

    private static void Spent(Utf8JsonWriter w, string name, BudgetPoint? p)
    {
        if (p is null) { w.WriteNull(name); return; }
        w.WriteStartObject(name);
        w.WriteNumber("T_data_median", p.MedianTData);
        w.WriteNumber("T_comp_median", p.MedianTComp);
        w.WriteNumber("reached", p.Reached);
        w.WriteNumber("runs", p.Runs);
        w.WriteEndObject();
    }
}
