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
    public static T Run<T>(bool show, string label, Func<IProgress<double>?, T> work)
    {
        if (!show) return work(null);
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
