using System.CommandLine;

namespace LmExplore.Cli;

internal static class RunCommand
{
    public static Command Create() => new("runcommand-todo", "not yet implemented");
}
