using LmExplore.Runs;
using System.CommandLine;
using System.Runtime.InteropServices;
using LmExplore.Experiments;
using LmExplore.Experiments.Reproduce;
using LmExplore.Experiments.Sweeps;
using LmExplore.Instances;
using Spectre.Console;

namespace LmExplore.Cli;

/// <summary>sweep, merge, reproduce: experiments at scale (docs/EXPERIMENTS.md, docs/CLUSTER.md).</summary>
internal static class ExperimentCommands
{
    /// <summary>The single-run function every sweep uses (tests substitute their own through the library API).</summary>
    private static RunResult RunOne(RunRequest request, CancellationToken ct) => Runner.Run(request, null, ct);

    public static IEnumerable<Command> Create() => [Sweep(), Merge(), Reproduce()];

    private static Command Sweep()
    {
        var config = new Option<string>("--config") { Description = "Sweep config (lmexplore.sweep/v1 JSON; see docs/FORMATS.md).", Required = true };
        var outDir = new Option<string>("--out") { Description = "Results directory (manifest.json, results[.shard-i-of-n].jsonl).", Required = true };
        var shard = new Option<string?>("--shard") { Description = "Run only the deterministic slice i/n (1 ≤ i ≤ n), e.g. from a job-array index." };
        var resume = new Option<bool>("--resume") { Description = "Continue a sweep in --out: skip finished runs, cut a torn last line." };
        var parallel = new Option<int>("--parallel") { Description = "Concurrent runs (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("sweep", "Run a parameter sweep in parallel; results append as JSON lines, crash-safe and resumable.")
        {
            config, outDir, shard, resume, parallel,
        };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            var configPath = parse.GetValue(config)!;
            var dir = parse.GetValue(outDir)!;
            OutputPath.Directory(dir, "--out"); // before any work: a file, FIFO or device there is refused at once
            Shard? s = parse.GetValue(shard) is string text ? Shard.Parse(text) : null;
            int p = parse.GetValue(parallel);
            if (p < 1) throw new InputException("--parallel must be at least 1");
            var plan = NamingConfig(configPath, () => SweepPlan.Create(SweepConfig.Load(configPath)));
            int shardCount = plan.ShardRuns(s).Count();
            using var interrupt = new Interrupt();
            var options = new SweepOptions(dir, s, parse.GetValue(resume), p, ConfigSource: configPath);
            var outcome = WithProgress($"sweep {plan.Config.Name}{(s is Shard sh ? $" [{sh}]" : "")}", shardCount,
                report => SweepEngine.Run(plan, options, RunOne, new ActionProgress<SweepProgress>(x => report(x.Done)), interrupt.Token,
                    (key, e) => CliSupport.Error.WriteLine($"run failed (recorded with status error): {key}: {e.GetType().Name}: {CliSupport.OneLine(e.Message)}")));
            if (outcome.TornLineRepaired) CliSupport.Error.WriteLine($"note: cut a torn last line from {outcome.ResultsPath} (a run interrupted mid-write; it was rerun)");
            if (outcome.Cancelled)
            {
                var resumeCmd = $"lmexplore sweep --config {configPath} --out {dir}{(s is Shard x ? $" --shard {x}" : "")} --resume";
                CliSupport.Error.WriteLine($"interrupted: {outcome.AlreadyDone + outcome.Completed} of {outcome.Total} runs are saved in {outcome.ResultsPath}; runs in flight were dropped.");
                CliSupport.Error.WriteLine($"resume with: {resumeCmd}");
                return 130;
            }
            CliSupport.Out.WriteLine($"sweep '{plan.Config.Name}'{(s is Shard y ? $" shard {y}" : "")}: {outcome.Total} runs ({outcome.AlreadyDone} already done, {outcome.Completed} run now" +
                $"{(outcome.Errors > 0 ? $", {outcome.Errors} with status error" : "")}) → {outcome.ResultsPath}");
            return outcome.Errors > 0 ? ExitCodes.Bug : ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Merge()
    {
        var outFile = new Option<string>("--out") { Description = "Merged JSON-lines file (sorted by run key).", Required = true };
        var allowMissing = new Option<bool>("--allow-missing") { Description = "Write the merge even when some runs of the sweep are missing." };
        var dirs = new Argument<string[]>("dirs") { Description = "Sweep directories (shard outputs) to combine.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("merge", "Combine the results of the shards of one sweep; refuses shards of different sweeps.") { outFile, allowMissing, dirs };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            OutputPath.File(parse.GetValue(outFile)!, "--out", directoryMayBeCreated: true); // before reading the shards
            var outcome = SweepMerge.Merge(parse.GetValue(dirs)!);
            if (outcome.MissingKeys.Count > 0)
            {
                CliSupport.Error.WriteLine($"{outcome.MissingKeys.Count} of {outcome.Expected} runs are missing, e.g. {outcome.MissingKeys[0]}");
                if (!parse.GetValue(allowMissing))
                    throw new InputException($"{outcome.MissingKeys.Count} runs missing (run the missing shards, or pass --allow-missing)");
            }
            SweepMerge.Write(parse.GetValue(outFile)!, outcome.Records);
            CliSupport.Out.WriteLine($"merged {outcome.Records.Count} of {outcome.Expected} runs" +
                $"{(outcome.Duplicates > 0 ? $" ({outcome.Duplicates} exact duplicates dropped)" : "")} → {parse.GetValue(outFile)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static Command Reproduce()
    {
        var quick = new Option<bool>("--quick") { Description = "Small versions of the experiments (minutes on 2 cores)." };
        var outDir = new Option<string>("--out") { Description = "Output directory: report.html, summary.json, one folder per experiment.", Required = true };
        var parallel = new Option<int>("--parallel") { Description = "Concurrent runs (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var only = new Option<string?>("--only") { Description = "Comma-separated experiment ids; E3 selects both of its parts (default: all of " + string.Join(", ", ExperimentRegistry.All.Select(e => e.Id)) + ")." };
        var command = new Command("reproduce", "Run the paper's experiments (docs/EXPERIMENTS.md) and write CSVs, SVG figures and report.html.") { quick, outDir, parallel, only };
        command.SetAction(parse => CliSupport.Guard(() =>
        {
            OutputPath.Directory(parse.GetValue(outDir)!, "--out"); // before any work
            int p = parse.GetValue(parallel);
            if (p < 1) throw new InputException("--parallel must be at least 1");
            var ids = parse.GetValue(only)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            // An empty selection would otherwise mean "no --only", i.e. every experiment: hours instead of none.
            if (ids is { Length: 0 })
                throw new InputException($"--only needs at least one experiment id (known: {string.Join(", ", ExperimentRegistry.All.Select(e => e.Id))})");
            var options = new ReproduceOptions(parse.GetValue(outDir)!, parse.GetValue(quick), p, ids);
            var experiments = ExperimentRegistry.Select(ids);
            var plans = experiments.Select(e => SweepPlan.Create(SweepConfig.Parse(e.SweepConfigJson(options.Quick)))).ToList();
            int total = plans.Sum(plan => plan.Runs.Count);
            using var interrupt = new Interrupt();
            // Budget scans stop early, so a plan with scans is an upper bound (its skipped runs count as done in the progress).
            string count = plans.Any(plan => plan.HasScans) ? $"at most {total} runs: budget scans skip the budgets above the first that succeeds" : $"{total} runs";
            if (!Interactive) CliSupport.Error.WriteLine($"reproduce{(options.Quick ? " --quick" : "")}: {string.Join(", ", experiments.Select(e => e.Id))} ({count}, {p} in parallel)");
            string? current = null;
            var outcome = WithProgress($"reproduce{(options.Quick ? " --quick" : "")}", total, report => Reproducer.Run(options, RunOne,
                new ActionProgress<ReproduceProgress>(x =>
                {
                    report(x.OverallDone);
                    if (!Interactive && x.Experiment != current)
                    {
                        current = x.Experiment;
                        CliSupport.Error.WriteLine($"  {x.Experiment}: {x.Total} runs");
                    }
                }), interrupt.Token));
            if (outcome.Cancelled)
            {
                CliSupport.Error.WriteLine($"interrupted: finished runs are saved under {options.OutDir}; rerun the same command to resume.");
                return 130;
            }
            foreach (var e in outcome.Experiments)
            {
                CliSupport.Out.WriteLine($"{e.Experiment.Id} ({e.WallSeconds:F0} s): {e.Experiment.Title}");
                foreach (var f in e.Report.Findings)
                    CliSupport.Out.WriteLine($"  {(f.Pass switch { true => "ok  ", false => "FAIL", null => "    " })} {f.Name} = {f.Display}   [{f.Criterion}]");
            }
            CliSupport.Out.WriteLine($"report: {outcome.ReportPath} (wall {outcome.WallSeconds:F0} s)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>Runs <paramref name="body"/> (reading and planning a sweep config); bad input that does not say which file
    /// it is in gets the config's path in front, so the user knows where to look.</summary>
    private static T NamingConfig<T>(string configPath, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (InputException e) when (!e.Message.Contains(configPath, StringComparison.Ordinal))
        {
            throw new InputException($"{configPath}: {e.Message}");
        }
    }

    /// <summary>True on an interactive terminal (progress bar); false for logs (progress lines).</summary>
    private static bool Interactive => CliSupport.Current.Interactive;

    /// <summary>
    /// A progress bar with ETA on an interactive terminal; otherwise (redirected stderr, CI=true) a progress line on
    /// stderr at most every <see cref="CliContext.ProgressInterval"/>, so batch logs show how far a long job is.
    /// </summary>
    private static T WithProgress<T>(string description, int total, Func<Action<int>, T> body)
    {
        if (!Interactive)
        {
            var lines = new ProgressLines(CliSupport.Error, description, total, CliSupport.Current.ProgressInterval);
            return body(lines.Report);
        }
        T result = default!;
        // On stderr, like run's progress bar: stdout carries only results.
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total));
                result = body(done => task.Value = done);
                task.StopTask();
            });
        return result;
    }

    /// <summary>Ctrl-C and SIGTERM (Slurm/Kubernetes stop signals) request a clean stop; a second Ctrl-C kills.</summary>
    private sealed class Interrupt : IDisposable
    {
        private readonly CancellationTokenSource _cts;
        private readonly CancellationTokenRegistration _announce;
        private readonly PosixSignalRegistration? _term;
        private int _signals;

        public Interrupt()
        {
            // Linked to the invocation's own Ctrl-C token (Program.cs), so in-process callers can cancel too.
            _cts = CancellationTokenSource.CreateLinkedTokenSource(CliSupport.Current.Cancellation);
            var error = CliSupport.Error;
            _announce = _cts.Token.Register(() => error.WriteLine("stopping: finished runs are kept, runs in flight are dropped; press Ctrl-C again to kill"));
            Console.CancelKeyPress += OnCancel;
            try
            {
                _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
                {
                    ctx.Cancel = true;
                    _cts.Cancel();
                });
            }
            catch (PlatformNotSupportedException)
            {
            }
        }

        public CancellationToken Token => _cts.Token;

        private void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            if (Interlocked.Increment(ref _signals) > 1) return; // second Ctrl-C: let the process die
            e.Cancel = true;
            _cts.Cancel();
        }

        public void Dispose()
        {
            Console.CancelKeyPress -= OnCancel;
            _term?.Dispose();
            _announce.Dispose();
            _cts.Dispose();
        }
    }

    private sealed class ActionProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly Lock _gate = new();

        public void Report(T value)
        {
            lock (_gate) report(value);
        }
    }
}
