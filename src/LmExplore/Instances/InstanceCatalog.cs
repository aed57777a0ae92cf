
namespace LmExplore.Instances;

/// <summary>Resolves an instance argument — a family name with parameters, or an instance file (.json, .npz) — to an instance.</summary>
public static class InstanceCatalog
{
    /// <summary>Built-in family names.</summary>
    public static IReadOnlyList<string> Families { get; } = ["linear", "needle", "chain", "dnf"];

    /// <summary>Largest V^H for which <see cref="Create"/> enumerates a <c>chain</c> instance into sequences.</summary>
    public const int MaxEnumeratedSequences = 1 << 20;

    /// <summary>The parameter names a family accepts (for help texts), or null for an unknown family.</summary>
    public static IReadOnlyList<string>? ParametersOf(string family) => family.ToLowerInvariant() switch
    {
        "linear" => LinearFamily.Known,
        "needle" => NeedleFamily.Known,
        "chain" => ChainFamily.Known,
        "dnf" => DnfFamily.Known,
        _ => null,
    };

    /// <summary>Whether <paramref name="familyOrPath"/> names a built-in family (case-insensitive).</summary>
    public static bool IsFamily(string familyOrPath) => ParametersOf(familyOrPath) is not null;

    /// <summary>
    /// Creates the instance named by <paramref name="familyOrPath"/>: a family generated from
    /// (<paramref name="parameters"/>, <paramref name="seed"/>), or an instance file.
    /// The autoregressive family <c>chain</c> is returned in its sequence-level form (all V^H token
    /// sequences as responses, φ = Σ_h ψ; see <see cref="AutoregressiveInstance.ToEnumerable"/>) when
    /// V^H ≤ <see cref="MaxEnumeratedSequences"/>; use <see cref="CreateAny"/> for the token-level form.
    /// A <c>seed</c> entry in <paramref name="parameters"/> overrides <paramref name="seed"/>, so a run can keep
    /// the instance fixed while varying the algorithm's seed.
    /// Throws <see cref="InputException"/> with a one-line message on bad input.
    /// </summary>
    public static EnumerableInstance Create(string familyOrPath, IReadOnlyDictionary<string, string> parameters, ulong seed, bool normalize = false)
    {
        switch (familyOrPath.Trim().ToLowerInvariant())
        {
            case "linear": return LinearFamily.Create(parameters, seed);
            case "needle": return NeedleFamily.Create(parameters, seed);
            case "dnf": return DnfFamily.Create(parameters, seed);
            case "chain":
                var chain = ChainFamily.Create(parameters, seed);
                if (Math.Pow(chain.Vocab, chain.Horizon) > MaxEnumeratedSequences)
                    throw new InputException($"chain: vocab^horizon = {chain.Vocab}^{chain.Horizon} sequences are too many for a sequence-level (enumerable) instance (limit {MaxEnumeratedSequences}); this needs a token-level algorithm");
                return chain.ToEnumerable(MaxEnumeratedSequences);
        }
        var loaded = Load(familyOrPath, parameters, normalize);
        return loaded.Enumerable ?? throw new InputException(
            $"{familyOrPath}: is an autoregressive instance (lmexplore.autoregressive/v1); this command needs an enumerable instance (lmexplore.instance/v1)");
    }

    /// <summary>
    /// Creates an instance of either kind: a family, an <c>lmexplore.instance/v1</c> file or an
    /// <c>lmexplore.autoregressive/v1</c> file. <c>chain</c> gives its autoregressive (token-level) form.
    /// </summary>
    public static LoadedInstance CreateAny(string familyOrPath, IReadOnlyDictionary<string, string> parameters, ulong seed, bool normalize = false)
    {
        string name = familyOrPath.Trim();
        if (string.Equals(name, "chain", StringComparison.OrdinalIgnoreCase)) return new LoadedInstance(ChainFamily.Create(parameters, seed));
        return IsFamily(name)
            ? new LoadedInstance(Create(familyOrPath, parameters, seed, normalize))
            : Load(familyOrPath, parameters, normalize);
    }

    /// <summary>Loads an instance file of either format (see <see cref="InstanceFile.Load"/>).</summary>
    public static LoadedInstance Load(string path, bool normalize = false) => InstanceFile.Load(path, normalize);

    private static LoadedInstance Load(string path, IReadOnlyDictionary<string, string> parameters, bool normalize)
    {
        if (!File.Exists(path) && !Directory.Exists(path) && !path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            && !path.EndsWith(NpzInstance.Extension, StringComparison.OrdinalIgnoreCase))
            throw new InputException($"'{path}' is neither an instance family ({string.Join(", ", Families)}) nor an existing file");
        if (parameters.Count > 0)
            throw new InputException($"{path}: parameters ({string.Join(", ", parameters.Keys)}) only apply to instance families, not to instance files");
        return InstanceFile.Load(path, normalize);
    }
}
