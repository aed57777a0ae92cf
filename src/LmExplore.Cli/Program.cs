using LmExplore.Cli;

// The first Ctrl-C cancels the work in progress cleanly; a second one terminates the process.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancellation.IsCancellationRequested) return;
    e.Cancel = true;
    cancellation.Cancel();
};
return CliApp.Invoke(args, CliContext.ForConsole(cancellation.Token));
