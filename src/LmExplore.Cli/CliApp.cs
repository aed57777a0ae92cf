using System.CommandLine;

namespace LmExplore.Cli;

/// <summary>The <c>lmexplore</c> command line, callable in-process (tests pass their own writers).</summary>
public static class CliApp
{
    /// <summary>Runs the command line with explicit writers and no progress bar; returns the exit code (0 ok, 2 bad input, 3 budget exhausted with --strict, 1 bug; docs/CLI.md).</summary>
    public static int Invoke(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation = default)
        => Invoke(args, new CliContext { Out = stdout, Error = stderr, Interactive = false, Cancellation = cancellation });

    /// <summary>Runs the command line in <paramref name="context"/>.</summary>
    internal static int Invoke(string[] args, CliContext context) => CliSupport.Invoke(BuildRoot(context), args, context);

    /// <summary>The command tree.</summary>
    internal static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("lmexplore — reinforcement learning with language models through a sampling oracle (Foster, Mhammedi, Rohatgi, COLT 2025).")
        {
            HelpName = "lmexplore",
        };
        root.Add(RunCommand.Create(context));
        root.Add(InstanceCommands.Create(context));
        root.Add(FrontierCommand.Create(context));
        foreach (var command in ExperimentCommands.Create()) root.Add(command);
        root.Add(ReportCommand.Create());
        root.Add(ExportCommand.Create());
        root.Add(LmCommand.Create());
        return root;
    }
}
