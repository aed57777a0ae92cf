using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;

namespace LmExplore.Cli;

/// <summary><c>lmexplore instance export|inspect</c>.</summary>
internal static class InstanceCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("instance", "Export built-in instances to JSON files and inspect instances (exact J_opt, J_ref, C_cov).");
        command.Add(CreateExport(context));
        command.Add(CreateInspect(context));
        return command;
    }

    private static Command CreateExport(CliContext context)
    {
        var instance = new Option<string>("--instance") { HelpName = "family|file.json|file.npz", Description = $"Instance family ({string.Join(", ", InstanceCatalog.Families)}), or an instance file to re-export (e.g. with --normalize, or to convert between .json and .npz).", Required = true };
        var parameters = CliSupport.KeyValueOption("--param", "Family parameter k=v (repeatable).");
        var seed = CliSupport.SeedOption(required: true, "Instance seed (unsigned 64-bit).");
        var output = new Option<string>("--out") { HelpName = "inst.json|inst.npz", Description = "Instance file to write: JSON, or numpy .npz when the name ends in .npz (docs/NPZ.md); written to a temporary file, then renamed.", Required = true };
        var normalize = new Option<bool>("--normalize") { Description = "Rescale weights/probabilities of an input file that do not sum to 1." };
        var command = new Command("export", "Write an instance as a JSON file (lmexplore.instance/v1, or lmexplore.autoregressive/v1 for chain) or as numpy .npz (enumerable instances).") { instance, parameters, seed, output, normalize };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string path = parse.GetValue(output)!;
            OutputPath.File(path, "--out"); // before building the instance, which can take a while
            var loaded = InstanceCatalog.CreateAny(parse.GetValue(instance)!, CliSupport.ParseKeyValues(parse.GetValue(parameters), "--param"),
                parse.GetValue(seed), parse.GetValue(normalize));
            string format = InstanceFile.Write(loaded, path); // temp file + rename: never a half-written file
            string shape = loaded.Enumerable is { } e
                ? $"{e.Prompts.Count} prompts, {e.TotalResponses} responses, d = {e.Dimension}"
                : $"horizon {loaded.Autoregressive!.Horizon}, vocab {loaded.Autoregressive.Vocab}, states {loaded.Autoregressive.States}";
            context.Error.WriteLine($"wrote {path} ({format}; {shape})");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command CreateInspect(CliContext context)
    {
        var target = new Argument<string?>("instance") { Description = $"Instance file (.json or .npz) or family ({string.Join(", ", InstanceCatalog.Families)}).", Arity = ArgumentArity.ZeroOrOne };
        var instance = new Option<string?>("--instance") { HelpName = "family|file.json|file.npz", Description = "Same as the positional argument." };
        var parameters = CliSupport.KeyValueOption("--param", "Family parameter k=v (repeatable).");
        var seed = CliSupport.SeedOption(required: false, "Instance seed for a family (unsigned 64-bit; default 0).");
        var json = new Option<bool>("--json") { Description = "Print exactly one JSON object on stdout." };
        var normalize = new Option<bool>("--normalize") { Description = "Rescale weights/probabilities of an instance file that do not sum to 1." };
        var command = new Command("inspect", "Print d, prompts, responses, beta, R_max, J_opt, J_ref, C_cov, C_cond and the average coverage, computed exactly.")
        {
            target, instance, parameters, seed, json, normalize,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string? positional = parse.GetValue(target), named = parse.GetValue(instance);
            if (positional is not null && named is not null) throw new InputException("give the instance either as an argument or with --instance, not both");
            string name = positional ?? named ?? throw new InputException("instance inspect needs an instance file or family (e.g. instance inspect needle)");
            var loaded = InstanceCatalog.CreateAny(name, CliSupport.ParseKeyValues(parse.GetValue(parameters), "--param"),
                parse.GetValue(seed), parse.GetValue(normalize));
            var rows = Describe(loaded);
            if (parse.GetValue(json)) context.Out.WriteLine(ToJson(rows));
            else Table.Write(context.Out, rows.Select(r => (r.Key, Text(r.Value))).ToList());
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The inspect keys in output order; values are string, long, double or null.</summary>
    internal static List<(string Key, object? Value)> Describe(LoadedInstance loaded)
    {
        if (loaded.Enumerable is { } e)
        {
            var s = ExactEvaluator.Summarize(e);
            List<(string Key, object? Value)> rows =
            [
                ("instance", e.Name), ("kind", "enumerable"), ("d", (long)s.Dimension), ("prompts", (long)s.Prompts),
                ("responses", s.Responses), ("responses_per_prompt_max", (long)e.MaxResponses),
                ("beta", s.Beta), ("R_max", s.RMax), ("J_opt", s.JOpt), ("J_ref", s.JRef),
                ("C_cov", s.CCov), ("log_C_cov", s.LogCCov), ("C_cond", null),
                ("avg_coverage", s.AverageCoverage), ("log_avg_coverage", s.LogAverageCoverage),
            ];
            // dnf: how many of the 2ⁿ assignments satisfy exactly j terms, one row per j up to the most any assignment satisfies.
            if (DnfFamily.SatisfiedTermHistogram(e) is { } histogram)
            {
                int top = Array.FindLastIndex(histogram, c => c > 0);
                for (int j = 0; j <= top; j++) rows.Add(($"assignments_satisfying_{j}_terms", histogram[j]));
            }
            return CheckFinite(rows);
        }
        var a = loaded.Autoregressive ?? throw new InvalidOperationException("loaded instance of unknown kind");
        var t = AutoregressiveEvaluator.Summarize(a);
        return CheckFinite(
        [
            ("instance", a.Name), ("kind", "autoregressive"), ("d", (long)t.Dimension), ("prompts", (long)t.Prompts),
            ("vocab", (long)t.Vocab), ("horizon", (long)t.Horizon), ("states", (long)t.States),
            ("beta", t.Beta), ("R_max", t.RMax), ("J_opt", t.JOpt), ("J_ref", t.JRef),
            ("C_cov", t.CCov), ("log_C_cov", AutoregressiveEvaluator.LogCoverageOfOptimal(a)), ("C_cond", t.CCond),
            ("avg_coverage", t.AverageCoverage), ("log_avg_coverage", Math.Log(t.AverageCoverage)),
        ]);
    }

    /// <summary>Keys whose value may exceed a double (then JSON null, table "overflows"): the logarithm beside
    /// each is always printed.</summary>
    private static readonly string[] MayOverflow = ["C_cov", "avg_coverage"];

    /// <summary>No NaN or infinity may leave with exit 0: a non-finite number here is a bug (exit 1), except a
    /// coverage beyond double range whose logarithm is finite.</summary>
    private static List<(string Key, object? Value)> CheckFinite(List<(string Key, object? Value)> rows)
    {
        foreach (var (key, value) in rows)
        {
            if (value is not double v || double.IsFinite(v)) continue;
            bool overflowOnly = double.IsPositiveInfinity(v) && MayOverflow.Contains(key)
                && rows.Any(r => r.Key == "log_" + key && r.Value is double l && double.IsFinite(l));
            if (!overflowOnly) throw new InvalidOperationException($"internal error: {key} is not finite ({v})");
        }
        return rows;
    }

    private static string ToJson(List<(string Key, object? Value)> rows)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            foreach (var (key, value) in rows)
            {
                switch (value)
                {
                    case string s: w.WriteString(key, s); break;
                    case long l: w.WriteNumber(key, l); break;
                    case int i: w.WriteNumber(key, i); break;
                    case double d when double.IsFinite(d): w.WriteNumber(key, d); break;
                    default: w.WriteNull(key); break; // null, and ±Inf/NaN which JSON cannot carry
                }
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static string Text(object? value) => value switch
    {
        null => "n/a",
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d when double.IsPositiveInfinity(d) => "beyond double range (see its log)",
        double d => RunCommand.Fmt(d),
        _ => value.ToString() ?? "",
    };
}
