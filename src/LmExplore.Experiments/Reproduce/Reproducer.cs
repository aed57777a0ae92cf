using LmExplore.Runs;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Experiments.Reproduce;

/// <summary>Options of <c>reproduce</c>.</summary>
/// <param name="OutDir">Output directory: one sub-directory per experiment, plus report.html and summary.json.</param>
/// <param name="Quick">Run the small versions (minutes on 2 cores) instead of the full ones.</param>
/// <param name="Parallelism">Concurrent runs.</param>
/// <param name="Only">Experiment ids to run (null: all).</param>
public sealed record ReproduceOptions(string OutDir, bool Quick, int Parallelism, IReadOnlyCollection<string>? Only = null);

/// <summary>Progress across all experiments.</summary>
public readonly record struct ReproduceProgress(string Experiment, int Done, int Total, int OverallDone, int OverallTotal);

/// <summary>One experiment's outcome.</summary>
public sealed record ExperimentOutcome(IExperiment Experiment, SweepPlan Plan, ExperimentReport Report, double WallSeconds, double RunSeconds, SweepOutcome Sweep);

/// <summary>The outcome of <c>reproduce</c>.</summary>
public sealed record ReproduceOutcome(IReadOnlyList<ExperimentOutcome> Experiments, string? ReportPath, bool Cancelled, double WallSeconds);

/// <summary>The environment a report was produced in (the report's manifest).</summary>
public sealed record EnvironmentInfo(string GitCommit, string DotNet, string Os, int Cores, string StartedUtc)
{
    /// <summary>Collects the environment; the git commit is that of the working directory (or of the tool's directory), "unknown" without git.</summary>
    public static EnvironmentInfo Collect() => new(FindGitCommit(), RuntimeInformation.FrameworkDescription,
        $"{RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})", Environment.ProcessorCount,
        DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture));

    private static string FindGitCommit()
    {
        foreach (var dir in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            var head = Git(dir, "rev-parse HEAD");
            if (head is null) continue;
            var dirty = Git(dir, "status --porcelain --untracked-files=no");
            return string.IsNullOrEmpty(dirty) ? head : head + " (with uncommitted changes)";
        }
        return "unknown (not a git checkout)";
    }

    private static string? Git(string dir, string args)
    {
        try
        {
            var psi = new ProcessStartInfo("git", $"-C \"{dir}\" {args}") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi);
            if (p is null) return null;
            var output = p.StandardOutput.ReadToEnd().Trim();
            if (!p.WaitForExit(5000)) { p.Kill(); return null; }
            return p.ExitCode == 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            return null;
        }
    }
}

/// <summary>
/// Runs the experiments of the registry as sweeps (each in its own directory, resumable), then analyses
/// the results and writes, per experiment, the CSVs and SVG figures, and one self-contained report.html.
/// </summary>
public static class Reproducer
{
    /// <summary>Runs (or resumes) the selected experiments and writes the report. Cancellation stops between runs; no report is written then.</summary>
    public static ReproduceOutcome Run(ReproduceOptions options, Func<RunRequest, CancellationToken, RunResult> run,
        IProgress<ReproduceProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        var env = EnvironmentInfo.Collect();
        var experiments = ExperimentRegistry.Select(options.Only);
        var plans = experiments.Select(e => SweepPlan.Create(SweepConfig.Parse(e.SweepConfigJson(options.Quick), $"{e.Id} config"))).ToList();
        int overallTotal = plans.Sum(p => p.Runs.Count), overallBefore = 0;
        // A dangling symbolic link is written through: the directory it names is created.
        LmExplore.Instances.OutputPath.CreateDirectory(LmExplore.Instances.OutputPath.Directory(options.OutDir, "--out"), "--out");
        var outcomes = new List<ExperimentOutcome>();
        for (int i = 0; i < experiments.Count; i++)
        {
            var experiment = experiments[i];
            var plan = plans[i];
            var dir = Path.Combine(options.OutDir, experiment.Id);
            LmExplore.Instances.OutputPath.CreateDirectory(LmExplore.Instances.OutputPath.Directory(dir, "--out"), "--out");
            AtomicFile.WriteAllText(Path.Combine(dir, "sweep.json"), experiment.SweepConfigJson(options.Quick) + "\n");
            var expClock = Stopwatch.StartNew();
            int before = overallBefore;
            var sweepProgress = progress is null ? null : new ActionProgress<SweepProgress>(p =>
                progress.Report(new ReproduceProgress(experiment.Id, p.Done, p.Total, before + p.Done, overallTotal)));
            var sweep = SweepEngine.Run(plan, new SweepOptions(dir, null, Resume: true, options.Parallelism), run, sweepProgress, cancellationToken);
            overallBefore += plan.Runs.Count;
            if (sweep.Cancelled) return new ReproduceOutcome(outcomes, null, true, clock.Elapsed.TotalSeconds);
            var records = ResultLines.Read(sweep.ResultsPath, repair: false, out _).Where(r => plan.ByKey.ContainsKey(r.Key))
                .GroupBy(r => r.Key).Select(g => g.First()).OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
            var report = experiment.Analyze(plan, records);
            foreach (var figure in report.Figures)
            {
                AtomicFile.WriteAllText(Path.Combine(dir, figure.FileStem + ".svg"), figure.Svg);
                AtomicFile.WriteAllText(Path.Combine(dir, figure.FileStem + ".csv"), figure.Csv());
            }
            foreach (var table in report.Tables) AtomicFile.WriteAllText(Path.Combine(dir, table.FileStem + ".csv"), table.Csv());
            outcomes.Add(new ExperimentOutcome(experiment, plan, report, expClock.Elapsed.TotalSeconds, records.Sum(r => r.Result.WallSeconds), sweep));
        }
        double wall = clock.Elapsed.TotalSeconds;
        var reportPath = Path.Combine(options.OutDir, "report.html");
        AtomicFile.WriteAllText(reportPath, ReportHtml.Render(outcomes, env, options, wall));
        AtomicFile.WriteAllText(Path.Combine(options.OutDir, "summary.json"), Summary(outcomes, env, options, wall));
        return new ReproduceOutcome(outcomes, reportPath, false, wall);
    }

    /// <summary>Machine-readable summary: the findings of every experiment and the manifest.</summary>
    private static string Summary(IReadOnlyList<ExperimentOutcome> outcomes, EnvironmentInfo env, ReproduceOptions options, double wall)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("format", "lmexplore.reproduce-summary/v1");
            w.WriteString("mode", options.Quick ? "quick" : "full");
            w.WriteNumber("parallelism", options.Parallelism);
            w.WriteNumber("wall_seconds", Math.Round(wall, 3));
            w.WriteString("git_commit", env.GitCommit);
            w.WriteString("dotnet", env.DotNet);
            w.WriteString("os", env.Os);
            w.WriteNumber("cores", env.Cores);
            w.WriteString("started", env.StartedUtc);
            w.WriteStartArray("experiments");
            foreach (var o in outcomes)
            {
                w.WriteStartObject();
                w.WriteString("id", o.Experiment.Id);
                w.WriteString("claim", o.Experiment.Claim);
                w.WriteString("config_hash", o.Plan.Hash);
                w.WriteNumber("runs", o.Plan.Runs.Count - o.Sweep.Skipped);
                w.WriteNumber("runs_skipped_by_scans", o.Sweep.Skipped);
                w.WriteNumber("wall_seconds", Math.Round(o.WallSeconds, 3));
                w.WriteStartArray("findings");
                foreach (var f in o.Report.Findings)
                {
                    w.WriteStartObject();
                    w.WriteString("name", f.Name);
                    if (double.IsFinite(f.Value)) w.WriteNumber("value", f.Value); else w.WriteString("value", f.Display);
                    w.WriteString("criterion", f.Criterion);
                    if (f.Pass is bool pass) w.WriteBoolean("pass", pass); else w.WriteNull("pass");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>Reports synchronously and in order (System.Progress posts to the thread pool, which would reorder updates).</summary>
    private sealed class ActionProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly Lock _gate = new();
        public void Report(T value)
        {
            lock (_gate) report(value);
        }
    }
}
