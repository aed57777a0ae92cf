using System.CommandLine;

namespace LmExplore.Cli;

internal static class InstanceCommands
{
    public static Command Create() => new("instancecommands-todo", "not yet implemented");
}
