using LmExplore.Runs;
using System.CommandLine;
using System.Globalization;
using System.Text;
using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;
using ResultsFileLock = LmExplore.Experiments.Sweeps.ResultsFileLock;

namespace LmExplore.Cli;

/// <summary><c>lmexplore run</c>: one algorithm on one instance, evaluated on the law of its output sampler (docs/CLI.md).</summary>
internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var instance = new Option<string>("--instance") { HelpName = "family|file.json", Description = $"Instance family ({string.Join(", ", InstanceCatalog.Families)}) or instance file (.json). Required unless --task is given." };
        var task = new Option<string?>("--task") { HelpName = "name|prompts.jsonl", Description = $"Text task instead of an instance: built-in ({string.Join(", ", LmExplore.Text.TextTask.BuiltIn)}) or a prompts file (JSON lines); see docs/LANGUAGE-MODELS.md." };
        var model = new Option<string?>("--model") { HelpName = "model.gguf|ngram.json", Description = "Base model of a text task: a GGUF file (llama.cpp) or an n-gram model from 'lm train' (default: the task's built-in model)." };
        var featureCommand = new Option<string?>("--feature-command") { HelpName = "command", Description = "Features of a text task from this command (JSON lines: {\"prompt\",\"response\"} in, {\"features\": [d numbers]} out; d = --param dim)." };
        var verifier = new Option<string?>("--verifier") { HelpName = "command", Description = "Reward of a text task from this command (JSON lines over stdin/stdout, docs/FORMATS.md; default: the task's built-in checker)." };
        var parameters = CliSupport.KeyValueOption("--param", "Instance family parameter k=v (repeatable), e.g. --param prompts=8 --param ccov=100.");
        var algo = new Option<string>("--algo") { HelpName = "name", Description = $"Algorithm: {string.Join(", ", AlgorithmRegistry.Names)}. bestofn runs on text tasks (--task) only.", Required = true };
        var algoParams = CliSupport.KeyValueOption("--algo-param", "Algorithm parameter k=v (repeatable), e.g. --algo-param epsilon=0.01.");
        var seed = CliSupport.SeedOption(required: true, "Run seed (unsigned 64-bit): fixes every random choice of the run.");
        var budgetComp = CliSupport.BudgetOption("--budget-comp", "Sampling-oracle budget T_comp (sequence samples).");
        var budgetData = CliSupport.BudgetOption("--budget-data", "Reward-query budget T_data.");
        var budgetTokens = CliSupport.BudgetOption("--budget-tokens", "Token-oracle budget T_tokens.");
        var json = new Option<bool>("--json") { Description = "Print exactly one JSON object on stdout (and nothing else)." };
        var output = new Option<string?>("--out") { HelpName = "results.jsonl", Description = "Append the result as one JSON line to this file (created if missing)." };
        var strict = new Option<bool>("--strict") { Description = "Exit with code 3 when a budget was exhausted." };
        var normalize = new Option<bool>("--normalize") { Description = "Rescale weights/probabilities of an instance file that do not sum to 1." };
        var outputSamples = CliSupport.BudgetOption("--output-samples", "Draw N responses from the output policy as a user would (x ~ rho; not charged to the run).");
        var outputSamplesFile = new Option<string?>("--output-samples-file") { HelpName = "draws.jsonl", Description = "Where --output-samples writes its JSON lines {\"prompt\": x, \"response\": y}." };

        var command = new Command("run", "Run one algorithm on one instance; report T_data, T_comp, T_tokens and the exact suboptimality.")
        {
            instance, parameters, algo, algoParams, seed, budgetComp, budgetData, budgetTokens, json, output, strict, normalize,
            outputSamples, outputSamplesFile, task, model, verifier, featureCommand,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            string? taskName = parse.GetValue(task);
            var instanceParams = CliSupport.ParseKeyValues(parse.GetValue(parameters), "--param");
            string instanceName = TextRunArguments.Resolve(parse.GetValue(instance), taskName, parse.GetValue(model), parse.GetValue(verifier), parse.GetValue(featureCommand), ref instanceParams);
            var request = new RunRequest(
                Instance: instanceName,
                InstanceParams: instanceParams,
                Algorithm: parse.GetValue(algo)!,
                AlgoParams: CliSupport.ParseKeyValues(parse.GetValue(algoParams), "--algo-param"),
                Seed: parse.GetValue(seed),
                BudgetComp: parse.GetValue(budgetComp),
                BudgetData: parse.GetValue(budgetData),
                BudgetTokens: parse.GetValue(budgetTokens),
                Normalize: parse.GetValue(normalize));
            bool asJson = parse.GetValue(json);
            string? outPath = parse.GetValue(output);
            if (outPath is not null)
            {
                // Fail before a long run, not after it; a symbolic link is appended through, to its final target.
                outPath = OutputPath.File(outPath, "--out");
                // A file a sweep is writing would refuse the append after the run, losing its result: refuse before it.
                ResultsFileLock.Acquire(outPath, "run --out", AppendLockWait).Dispose();
            }
            long? drawCount = parse.GetValue(outputSamples);
            string? drawPath = parse.GetValue(outputSamplesFile);
            if (drawCount is not null && drawPath is null) throw new InputException("--output-samples needs --output-samples-file");
            if (drawCount is null && drawPath is not null) throw new InputException("--output-samples-file needs --output-samples N");
            if (drawCount is 0) throw new InputException("--output-samples must be at least 1");
            if (drawPath is not null) OutputPath.File(drawPath, "--output-samples-file");

            RunOutcome? outcome = null;
            RunResult result;
            try
            {
                result = ProgressDisplay.Run(context.Interactive && !asJson, $"run {request.Algorithm} on {request.Instance}",
                    progress => drawCount is null
                        ? context.Run(request, progress, context.Cancellation)
                        : (outcome = Runner.Execute(request, progress, context.Cancellation)).Result,
                    lines: !context.Interactive && !asJson);
                // A run that returned after Ctrl-C may be partial: report nothing rather than a misleading result.
                context.Cancellation.ThrowIfCancellationRequested();
                if (outcome is not null)
                    AtomicFile.Write(drawPath!, w => outcome.WriteOutputSamples(drawCount!.Value, request.Seed, w, context.Cancellation));
            }
            finally
            {
                outcome?.Dispose(); // a text problem holds verifier processes
            }

            string line = RunResultJson.Serialize(result);
            if (outPath is not null) AppendLine(outPath, line);
            if (asJson) context.Out.WriteLine(line);
            else
            {
                WriteSummary(context.Out, result);
                if (taskName is not null) context.Out.WriteLine(TextRunArguments.Note(result.Evaluation));
            }

            if (result.Status == "error")
            {
                context.Error.WriteLine("error: the run ended with status \"error\" (see diagnostics)");
                return ExitCodes.Bug;
            }
            return parse.GetValue(strict) && result.Status == "budget_exhausted" ? ExitCodes.BudgetExhausted : ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>How long an append waits for other writers of the file (other runs' appends take milliseconds).</summary>
    internal static readonly TimeSpan AppendLockWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Appends one complete JSON line with a single write and flushes it to disk, so a kill leaves at most a torn
    /// last line. If the file already ends in a torn line (no newline), the new record starts on a fresh line.
    /// The whole read-append-flush holds the file's <see cref="ResultsFileLock"/>: concurrent runs (a job array
    /// appending to one file) never interleave, and the torn-line check sees a file no one else is writing.
    /// </summary>
    internal static void AppendLine(string path, string jsonLine)
    {
        path = OutputPath.File(path, "--out"); // again: the run took a while, and an append must not open a FIFO
        using var fileLock = ResultsFileLock.Acquire(path, "run --out", AppendLockWait);
        try
        {
            bool needsNewline = false;
            if (File.Exists(path))
            {
                using var read = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                if (read.Length > 0)
                {
                    read.Seek(-1, SeekOrigin.End);
                    needsNewline = read.ReadByte() != '\n';
                }
            }
            var bytes = Encoding.UTF8.GetBytes((needsNewline ? "\n" : "") + jsonLine + "\n");
            using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"cannot append to --out '{path}': {CliSupport.OneLine(e.Message)}");
        }
    }

    /// <summary>The human-readable result: the JSON keys, aligned.</summary>
    private static void WriteSummary(TextWriter w, RunResult r)
    {
        var rows = new List<(string Key, string Value)>
        {
            ("instance", r.Instance), ("algorithm", r.Algorithm), ("seed", r.Seed.ToString(CultureInfo.InvariantCulture)),
            ("status", r.Status), ("beta", Fmt(r.Beta)), ("d", r.D.ToString(CultureInfo.InvariantCulture)),
            ("T_data", Count(r.TData)), ("T_comp", Count(r.TComp)), ("T_tokens", Count(r.TTokens)),
            ("J_opt", Fmt(r.JOpt)), ("J_ref", Fmt(r.JRef)), ("J_out", Fmt(r.JOut)), ("suboptimality", Fmt(r.Suboptimality)),
            ("suboptimality_ci", r.SuboptimalityCiLow is double lo ? $"[{Fmt(lo)}, {Fmt(r.SuboptimalityCiHigh!.Value)}]" : "n/a"),
            ("suboptimality_target", Fmt(r.SuboptimalityTarget)), ("expected_reward_out", Fmt(r.ExpectedRewardOut)),
            ("epsilon", Fmt(r.Epsilon)), ("reached_epsilon", r.ReachedEpsilon ? "true" : "false"), ("evaluation", r.Evaluation.JsonName()),
            ("output_sample_cost", Fmt(r.OutputSampleCost)), ("C_cov", Fmt(r.CCov)), ("C_cond", r.CCond is double c ? Fmt(c) : "n/a"),
            ("wall_seconds", r.WallSeconds.ToString("F3", CultureInfo.InvariantCulture)),
        };
        foreach (var (key, value) in r.Diagnostics.OrderBy(kv => kv.Key, StringComparer.Ordinal)) rows.Add(($"  {key}", Fmt(value)));
        if (r.Diagnostics.Count > 0) rows.Insert(rows.Count - r.Diagnostics.Count, ("diagnostics", ""));
        Table.Write(w, rows);
    }

    internal static string Fmt(double v) => double.IsNaN(v) ? "n/a" : v.ToString("G6", CultureInfo.InvariantCulture);
    private static string Count(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>Two aligned columns.</summary>
internal static class Table
{
    public static void Write(TextWriter w, IReadOnlyList<(string Key, string Value)> rows)
    {
        int width = rows.Max(r => r.Key.Length) + 2;
        foreach (var (key, value) in rows) w.WriteLine(value.Length == 0 ? key : key.PadRight(width) + value);
    }
}
