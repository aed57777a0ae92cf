using System.CommandLine;
using LmExplore.Cli;

var root = new RootCommand("lmexplore — reinforcement learning with language models through a sampling oracle (Foster, Mhammedi, Rohatgi, COLT 2025).");
root.Add(RunCommand.Create());
root.Add(InstanceCommands.Create());
foreach (var command in ExperimentCommands.Create()) root.Add(command);
return CliSupport.Invoke(root, args);
