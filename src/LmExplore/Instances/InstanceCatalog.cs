using LmExplore.Experiments;

namespace LmExplore.Instances;

/// <summary>Resolves an instance argument — a family name with parameters, or a JSON file — to an instance.</summary>
public static class InstanceCatalog
{
    /// <summary>Built-in family names.</summary>
    public static IReadOnlyList<string> Families { get; } = ["linear", "needle"];

    /// <summary>
    /// Creates the instance named by <paramref name="familyOrPath"/>: a family generated from
    /// (<paramref name="parameters"/>, <paramref name="seed"/>), or an instance file.
    /// Throws <see cref="InputException"/> with a one-line message on bad input.
    /// </summary>
    public static EnumerableInstance Create(string familyOrPath, IReadOnlyDictionary<string, string> parameters, ulong seed, bool normalize = false)
        => throw new NotImplementedException("instance catalog: owned by the Instances work");
}
