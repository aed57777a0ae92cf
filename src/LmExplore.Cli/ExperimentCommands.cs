using System.CommandLine;

namespace LmExplore.Cli;

/// <summary>sweep, merge, reproduce (the experiments issue).</summary>
internal static class ExperimentCommands
{
    public static IEnumerable<Command> Create() => [];
}
