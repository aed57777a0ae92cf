using LmExplore.Experiments;

namespace LmExplore.Instances;

/// <summary>An instance loaded from a file or generated: exactly one of the two kinds is set.</summary>
public sealed class LoadedInstance
{
    /// <summary>Wraps an enumerable instance.</summary>
    public LoadedInstance(EnumerableInstance instance) => Enumerable = instance;

    /// <summary>The enumerable instance (lmexplore.instance/v1 or a family), or null.</summary>
    public EnumerableInstance? Enumerable { get; }

    /// <summary>Whether this is an enumerable instance.</summary>
    public bool IsEnumerable => Enumerable is not null;
}

/// <summary>Reads instance files of every supported format, dispatching on the "format" field.</summary>
public static class InstanceFile
{
    /// <summary>Loads <paramref name="path"/>; <paramref name="normalize"/> rescales weights and probabilities that do not sum to 1.</summary>
    public static LoadedInstance Load(string path, bool normalize = false)
        => throw new InputException($"{path}: instance files are not supported yet");
}
