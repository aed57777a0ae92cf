using LmExplore.Runs;
using System.CommandLine;
using System.Globalization;
using LmExplore.Experiments;
using LmExplore.Experiments.Frontier;
using LmExplore.Instances;

namespace LmExplore.Cli;

/// <summary><c>lmexplore frontier</c>: compute-to-ε and data-to-ε of one algorithm on one instance.</summary>
internal static class FrontierCommand
{
    /// <summary>
    /// The largest budget a grid may name. The grid is walked in doubles and the data scan doubles compute-to-ε, so
    /// budgets near 2⁶³ would overflow 64-bit counts; 10¹⁸ oracle calls is beyond any run anyway.
    /// </summary>
    internal const long MaxBudget = 1_000_000_000_000_000_000;

    public static Command Create(CliContext context)
    {
        var instance = new Option<string>("--instance") { HelpName = "family|file.json", Description = $"Instance family ({string.Join(", ", InstanceCatalog.Families)}) or instance file.", Required = true };
        var parameters = CliSupport.KeyValueOption("--param", "Instance family parameter k=v (repeatable).");
        var algo = new Option<string>("--algo") { HelpName = "name", Description = $"Algorithm: {string.Join(", ", LmExplore.Algorithms.AlgorithmRegistry.Names)}.", Required = true };
        var algoParams = CliSupport.KeyValueOption("--algo-param", "Algorithm parameter k=v (repeatable), e.g. --algo-param epsilon=0.008.");
        var seeds = new Option<int>("--seeds") { HelpName = "N", Description = "Seeds 1..N per budget (default 10).", DefaultValueFactory = _ => 10 };
        var delta = new Option<double>("--delta") { Description = "A budget succeeds when at least a (1 − delta) fraction of seeds reach epsilon (default 0.1).", DefaultValueFactory = _ => 0.1 };
        var ratio = new Option<double>("--ratio") { Description = "Geometric grid ratio (default √2).", DefaultValueFactory = _ => Math.Sqrt(2) };
        var compFrom = CliSupport.BudgetOption("--comp-from", "Smallest compute budget tried (default 16).");
        var compTo = CliSupport.BudgetOption("--comp-to", "Largest compute budget tried (default 1e9).");
        var dataFrom = CliSupport.BudgetOption("--data-from", "Smallest data budget tried (default 4).");
        var dataTo = CliSupport.BudgetOption("--data-to", "Largest data budget tried (default 1e7).");
        var dataScanComp = CliSupport.BudgetOption("--data-scan-comp", "Compute budget while scanning data budgets (default: 2 × compute-to-ε).");
        var parallel = new Option<int>("--parallel") { Description = "Concurrent runs (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var json = new Option<bool>("--json") { Description = "Print one JSON object on stdout (and nothing else)." };
        var output = new Option<string?>("--out") { HelpName = "frontier.json", Description = "Also write the JSON object to this file." };
        var command = new Command("frontier",
            "Measure compute-to-ε and data-to-ε: the smallest budgets on a geometric grid at which a (1 − δ) fraction of seeds reach ε.")
        {
            instance, parameters, algo, algoParams, seeds, delta, ratio, compFrom, compTo, dataFrom, dataTo, dataScanComp, parallel, json, output,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            int n = parse.GetValue(seeds);
            if (n < 1 || n > 10_000) throw new InputException($"--seeds must lie in [1, 10000], got {n}");
            int p = parse.GetValue(parallel);
            if (p < 1) throw new InputException("--parallel must be at least 1");
            foreach (var option in new[] { compFrom, compTo, dataFrom, dataTo, dataScanComp })
                if (parse.GetValue(option) is > MaxBudget)
                    throw new InputException($"{option.Name} must be at most {MaxBudget} (1e18), got {parse.GetValue(option)}");
            var request = new FrontierRequest(parse.GetValue(instance)!, CliSupport.ParseKeyValues(parse.GetValue(parameters), "--param"),
                parse.GetValue(algo)!, CliSupport.ParseKeyValues(parse.GetValue(algoParams), "--algo-param"),
                Enumerable.Range(1, n).Select(i => (ulong)i).ToArray(), parse.GetValue(delta), parse.GetValue(ratio),
                parse.GetValue(compFrom) ?? 16, parse.GetValue(compTo) ?? 1_000_000_000, parse.GetValue(dataFrom) ?? 4,
                parse.GetValue(dataTo) ?? 10_000_000, parse.GetValue(dataScanComp), p);
            string? outPath = parse.GetValue(output);
            if (outPath is not null) OutputPath.File(outPath, "--out"); // before the scans, which can take hours
            bool asJson = parse.GetValue(json);
            // Validate the instance and algorithm once, before the scan, so bad input fails in milliseconds.
            bool tokenLevel = LmExplore.Algorithms.AlgorithmRegistry.IsTokenLevel(request.Algorithm);
            Runner.Run(new RunRequest(request.Instance, request.InstanceParams, request.Algorithm, request.AlgoParams, 1,
                BudgetComp: tokenLevel ? null : 0, BudgetData: 0, BudgetTokens: tokenLevel ? 0 : null));
            var result = FrontierSearch.Run(request, null, point =>
            {
                if (!asJson)
                    CliSupport.Error.WriteLine($"frontier: {point.Kind} budget {point.Budget:N0}: {point.Reached}/{point.Runs} reach ε " +
                        $"(median T_data {point.MedianTData:N0}, " + (tokenLevel ? $"T_tokens {point.MedianTTokens:N0})" : $"T_comp {point.MedianTComp:N0})"));
            }, context.Cancellation);
            string text = FrontierSearch.ToJson(result);
            if (outPath is not null) AtomicFile.WriteAllText(outPath, text + "\n");
            if (asJson) { context.Out.WriteLine(text); return ExitCodes.Ok; }
            string Fmt(long? v) => v is long x ? x.ToString("N0", CultureInfo.InvariantCulture) : "not reached";
            context.Out.WriteLine($"{request.Algorithm} on {request.Instance}, ε = {result.Epsilon.ToString("G4", CultureInfo.InvariantCulture)}, " +
                $"{request.Required}/{request.Seeds.Count} seeds must reach it");
            context.Out.WriteLine($"compute_to_eps  {Fmt(result.ComputeToEps)}" + (tokenLevel ? " token calls" : "") + (result.AtComputeToEps is { } c
                ? $"   (median T_data {c.MedianTData:N0}, " + (tokenLevel ? $"T_tokens {c.MedianTTokens:N0})" : $"T_comp {c.MedianTComp:N0})") : ""));
            context.Out.WriteLine($"data_to_eps     {Fmt(result.DataToEps)}" + (result.AtDataToEps is { } d
                ? $"   (median T_data {d.MedianTData:N0}, T_comp {d.MedianTComp:N0}; compute budget {Fmt(result.DataScanComp)})" : ""));
            return ExitCodes.Ok;
        }));
        return command;
    }
}
