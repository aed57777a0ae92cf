using LmExplore.Runs;
using System.Text;

namespace LmExplore.Experiments.Sweeps;

/// <summary>How to run a sweep.</summary>
/// <param name="OutDir">Results directory (created if missing).</param>
/// <param name="Shard">The 1/n slice to run, or null for all runs.</param>
/// <param name="Resume">Continue a directory that already has results (skipping finished keys).</param>
/// <param name="Parallelism">Concurrent runs (≥ 1).</param>
/// <param name="ConfigSource">The config file, named in the error of a run whose settings it holds are bad input.</param>
public sealed record SweepOptions(string OutDir, Shard? Shard = null, bool Resume = false, int Parallelism = 1, string? ConfigSource = null);

/// <summary>Progress of a sweep: runs finished (including those found on resume) out of the runs of this shard.</summary>
public readonly record struct SweepProgress(int Done, int Total, string? LastKey);

/// <summary>What a sweep did.</summary>
/// <param name="Total">Runs in this shard.</param>
/// <param name="AlreadyDone">Runs found finished on resume.</param>
/// <param name="Completed">Runs finished now.</param>
/// <param name="Errors">Runs recorded with status <c>error</c> (a bug in a run, not bad input).</param>
/// <param name="Cancelled">True when stopped before all runs finished.</param>
/// <param name="ResultsPath">The results file.</param>
/// <param name="TornLineRepaired">True when resume found and cut a torn last line.</param>
public sealed record SweepOutcome(int Total, int AlreadyDone, int Completed, int Errors, bool Cancelled, string ResultsPath, bool TornLineRepaired)
{
    /// <summary>Runs not needed because their scan stopped below them (see <see cref="SweepAlgorithm.Scan"/>).</summary>
    public int Skipped { get; init; }

    /// <summary>Runs of this shard still missing.</summary>
    public int Missing => Total - AlreadyDone - Completed - Skipped;
}

/// <summary>
/// Runs a <see cref="SweepPlan"/> (or one shard of it) in parallel and appends each finished run as one
/// JSON line, flushed per run, through a single writer. Crash safety: a kill loses at most the runs in
/// flight (and may tear the last line, which <c>--resume</c> cuts away); results depend only on each
/// run's key-derived seed, so resuming, sharding or changing the parallelism never changes a result.
/// One sweep at a time per results file: the sweep holds its <see cref="ResultsFileLock"/> from start to end.
/// </summary>
public static class SweepEngine
{
    /// <summary>The results file of a shard: <c>results.jsonl</c> or <c>results.shard-i-of-n.jsonl</c>.</summary>
    public static string ResultsFileName(Shard? shard) => shard is Shard s ? $"results.shard-{s.Index}-of-{s.Count}.jsonl" : "results.jsonl";

    /// <summary>
    /// Runs the sweep. <paramref name="run"/> executes one request (the CLI passes <c>Runner.Run</c>; tests a fake).
    /// Bad input from a run aborts the sweep with <see cref="InputException"/> (after the finished runs are written);
    /// any other exception is recorded as a result with status <c>error</c> (and reported to <paramref name="onRunError"/>;
    /// resume does not rerun it: the run is deterministic). Cancellation stops handing out
    /// runs; runs in flight are dropped (they are rerun on resume) and the outcome says <c>Cancelled</c>.
    /// </summary>
    public static SweepOutcome Run(SweepPlan plan, SweepOptions options, Func<RunRequest, CancellationToken, RunResult> run,
        IProgress<SweepProgress>? progress = null, CancellationToken cancellationToken = default, Action<string, Exception>? onRunError = null)
    {
        if (options.Parallelism < 1) throw new InputException("--parallel must be at least 1");
        // The output rules (OutputPath): a directory (or one that can be created) holding a regular results file.
        // A dangling symbolic link is written through: the directory it names is created.
        LmExplore.Instances.OutputPath.CreateDirectory(LmExplore.Instances.OutputPath.Directory(options.OutDir, "--out"), "--out");
        var resultsPath = Path.Combine(options.OutDir, ResultsFileName(options.Shard));
        LmExplore.Instances.OutputPath.File(resultsPath, "results file");
        // Held until the last line is written: a second sweep on the same results file refuses at once instead of
        // interleaving lines (or resuming from a file that is still growing).
        using var fileLock = ResultsFileLock.Acquire(resultsPath, $"sweep '{plan.Config.Name}'", TimeSpan.Zero);
        var existing = SweepManifest.TryRead(options.OutDir);
        if (existing is not null && existing.Hash != plan.Hash)
            throw new InputException($"{options.OutDir} holds results of a different sweep ('{existing.Name}', config hash {existing.Hash[..12]}…, this one {plan.Hash[..12]}…); use another --out");
        bool hasResults = File.Exists(resultsPath) && new FileInfo(resultsPath).Length > 0;
        if (hasResults && !options.Resume)
            throw new InputException($"{resultsPath} already has results; pass --resume to continue that sweep, or choose another --out");
        SweepManifest.Of(plan).Write(options.OutDir);

        var shardRuns = plan.ShardRuns(options.Shard).ToList();
        var finished = new Dictionary<string, bool>(StringComparer.Ordinal);
        bool torn = false;
        if (hasResults)
        {
            foreach (var record in ResultLines.Read(resultsPath, repair: true, out torn))
                if (plan.ByKey.ContainsKey(record.Key)) finished.TryAdd(record.Key, record.Result.ReachedEpsilon);
        }
        var schedule = new ScanSchedule(shardRuns, plan.Config.ScanRequired, finished);
        int alreadyDone = shardRuns.Count(r => finished.ContainsKey(r.Key));
        int completed = 0, errors = 0;
        progress?.Report(new SweepProgress(alreadyDone + schedule.Skipped.Count, shardRuns.Count, null));

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        InputException? badInput = null;
        Exception? crash = null;
        using var writer = new ResultWriter(resultsPath);
        // Due runs, in plan order; a finished run of a scan may release the scan's next level, so an idle worker waits
        // while runs are in flight.
        var gate = new object();   // a monitor (Wait/PulseAll), not a System.Threading.Lock
        var due = new Queue<SweepRun>(schedule.Initial);
        int inFlight = 0;
        using var wake = stop.Token.Register(() => { lock (gate) Monitor.PulseAll(gate); });

        // One dedicated thread per slot, each taking the next due run: runs last from milliseconds to
        // minutes, so they must not wait for thread-pool injection (Parallel.ForEach on a busy pool can
        // silently run one at a time), and one run at a time per thread balances unequal costs.
        void Work()
        {
            try
            {
                while (true)
                {
                    SweepRun sweepRun;
                    lock (gate)
                    {
                        while (due.Count == 0 && inFlight > 0 && !stop.IsCancellationRequested) Monitor.Wait(gate);
                        if (due.Count == 0 || stop.IsCancellationRequested) { Monitor.PulseAll(gate); return; }
                        sweepRun = due.Dequeue();
                        inFlight++;
                    }
                    RunResult? result = null;
                    try
                    {
                        try
                        {
                            result = run(sweepRun.Request, stop.Token);
                        }
                        catch (OperationCanceledException) when (stop.IsCancellationRequested)
                        {
                            return; // dropped: rerun on resume
                        }
                        catch (InputException e)
                        {
                            Interlocked.CompareExchange(ref badInput, new InputException($"{(options.ConfigSource is { } source ? source + ": " : "")}run {sweepRun.Key}: {e.Message}"), null);
                            stop.Cancel();
                            return;
                        }
                        catch (Exception e)
                        {
                            result = RunResult.Error(sweepRun.Request);
                            onRunError?.Invoke(sweepRun.Key, e);
                            Interlocked.Increment(ref errors);
                        }
                        writer.Append(ResultLines.Format(sweepRun.Key, sweepRun.Settings, result));
                        int n = Interlocked.Increment(ref completed);
                        int skipped;
                        lock (gate)
                        {
                            foreach (var next in schedule.Complete(sweepRun, result.ReachedEpsilon)) due.Enqueue(next);
                            skipped = schedule.Skipped.Count;
                        }
                        progress?.Report(new SweepProgress(alreadyDone + n + skipped, shardRuns.Count, sweepRun.Key));
                    }
                    finally
                    {
                        lock (gate)
                        {
                            inFlight--;
                            Monitor.PulseAll(gate);
                        }
                    }
                }
            }
            catch (Exception e)
            {
                // The writer or a progress sink failed: stop everyone and rethrow below.
                Interlocked.CompareExchange(ref crash, e, null);
                stop.Cancel();
            }
        }

        var workers = Enumerable.Range(0, Math.Min(options.Parallelism, Math.Max(1, shardRuns.Count - alreadyDone)))
            .Select(w => new Thread(Work) { IsBackground = true, Name = $"sweep-worker-{w}" }).ToList();
        foreach (var t in workers) t.Start();
        foreach (var t in workers) t.Join();
        if (crash is not null) throw new InvalidOperationException($"sweep stopped: {crash.Message}", crash);
        if (badInput is not null) throw badInput;
        bool cancelled = alreadyDone + completed + schedule.Skipped.Count < shardRuns.Count;
        return new SweepOutcome(shardRuns.Count, alreadyDone, completed, errors, cancelled, resultsPath, torn) { Skipped = schedule.Skipped.Count };
    }

    /// <summary>The single writer: appends whole lines and flushes each to the OS, so a killed process loses nothing it reported done.</summary>
    private sealed class ResultWriter(string path) : IDisposable
    {
        private readonly FileStream _stream = new(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        private readonly Lock _gate = new();

        public void Append(string line)
        {
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            lock (_gate)
            {
                _stream.Write(bytes); // one write per line: a kill can only tear the last line
                _stream.Flush();
            }
        }

        public void Dispose()
        {
            lock (_gate) _stream.Dispose();
        }
    }
}
