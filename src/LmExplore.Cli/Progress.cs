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
