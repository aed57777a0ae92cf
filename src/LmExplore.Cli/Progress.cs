using System.Diagnostics;
using Spectre.Console;

namespace LmExplore.Cli;

/// <summary>
/// A Spectre.Console progress bar on stderr, drawn only on an interactive terminal; otherwise the work runs
/// with no progress sink at all, so redirected and <c>--json</c> output stays clean.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>Runs <paramref name="work"/>, showing its fractional progress (0…1) when <paramref name="show"/> is true.</summary>
    /// <paramref name="lines"/> (when the bar is not shown): plain <see cref="FractionLines"/> on stderr instead, for logs.
    public static T Run<T>(bool show, string label, Func<IProgress<double>?, T> work, bool lines = false)
    {
        if (!show)
        {
            if (!lines) return work(null);
            var log = new FractionLines(CliSupport.Error, label, CliSupport.Current.ProgressInterval);
            var value = work(log);
            log.Finish();
            return value;
        }
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        T result = default!;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: 1.0);
                result = work(new Sink(task));
                task.Value = task.MaxValue;
            });
        return result;
    }

    /// <summary>Synchronous sink (unlike <see cref="Progress{T}"/> it does not post to a thread pool); ProgressTask is thread-safe.</summary>
    private sealed class Sink(ProgressTask task) : IProgress<double>
    {
        public void Report(double value)
        {
            if (double.IsFinite(value)) task.Value = Math.Clamp(value, 0, 1);
        }
    }
}

/// <summary>
/// Progress for logs (stderr redirected, a batch job, <c>CI=true</c>): a plain line at most once per interval, e.g.
/// <c>sweep: 120/912 runs, 13%, ETA 1m05s</c>, where a progress bar would only fill the log with redraws.
/// The ETA extrapolates the rate of the runs finished by this process (runs found done on resume do not count).
/// </summary>
internal sealed class ProgressLines(TextWriter writer, string label, int total, TimeSpan interval)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private TimeSpan _lastLine;
    private int? _first;
    private bool _printed;

    /// <summary>Records that <paramref name="done"/> of the total are finished; prints a line when the interval has passed.</summary>
    public void Report(int done)
    {
        lock (_gate)
        {
            _first ??= done;
            var now = _clock.Elapsed;
            // Always close with the last line once any was printed, so a log ends at total/total.
            bool finished = done >= total && _printed;
            if (now - _lastLine < interval && !finished) return;
            if (done == _first && !finished) return; // nothing to extrapolate yet
            _lastLine = now;
            _printed = true;
            writer.WriteLine(Line(done, now));
        }
    }

    private string Line(int done, TimeSpan elapsed)
    {
        int percent = total == 0 ? 100 : (int)Math.Floor(100.0 * done / total);
        string tail;
        if (done >= total) tail = $"done in {Duration(elapsed)}";
        else
        {
            double rate = (done - _first!.Value) / Math.Max(elapsed.TotalSeconds, 1e-9);
            tail = rate > 0 ? $"ETA {Duration(TimeSpan.FromSeconds((total - done) / rate))}" : "ETA unknown";
        }
        return $"{label}: {done}/{total} runs, {percent}%, {tail}";
    }

    /// <summary><c>42s</c>, <c>1m05s</c>, <c>2h03m</c>.</summary>
    internal static string Duration(TimeSpan t)
    {
        long s = (long)Math.Ceiling(t.TotalSeconds);
        if (s < 60) return $"{s}s";
        if (s < 3600) return $"{s / 60}m{s % 60:00}s";
        long m = (s + 59) / 60;
        return $"{m / 60}h{m % 60:00}m";
    }
}

/// <summary>
/// Progress of one long job (a <c>run</c>) for logs: <c>LABEL: 42%, ETA 1m05s</c> at most once per interval, and a last
/// <c>LABEL: 100%, done in …</c> when any line was printed. The fraction is the algorithm's own estimate of its progress
/// (phases, rounds); the ETA extrapolates it linearly. Jobs shorter than the interval print nothing.
/// </summary>
internal sealed class FractionLines(TextWriter writer, string label, TimeSpan interval) : IProgress<double>
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private TimeSpan _lastLine;
    private bool _printed;

    /// <inheritdoc/>
    public void Report(double fraction)
    {
        if (!double.IsFinite(fraction)) return;
        fraction = Math.Clamp(fraction, 0, 1);
        lock (_gate)
        {
            var now = _clock.Elapsed;
            if (now - _lastLine < interval || now < interval || fraction <= 0 || fraction >= 1) return;
            _lastLine = now;
            _printed = true;
            var eta = TimeSpan.FromSeconds(now.TotalSeconds * (1 - fraction) / fraction);
            writer.WriteLine($"{label}: {(int)Math.Floor(100 * fraction)}%, ETA {ProgressLines.Duration(eta)}");
        }
    }

    /// <summary>Closes the log with a last line, if any was printed.</summary>
    public void Finish()
    {
        lock (_gate)
            if (_printed) writer.WriteLine($"{label}: 100%, done in {ProgressLines.Duration(_clock.Elapsed)}");
    }
}
