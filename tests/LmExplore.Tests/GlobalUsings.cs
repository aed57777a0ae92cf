// Shared fixtures (instances, statistics, fakes, temp directories) and the in-process CLI harness, used by every folder.
global using LmExplore.Tests.Cli;
global using LmExplore.Tests.Support;
