
namespace LmExplore.LanguageModels;

/// <summary>
/// One kind of model <see cref="ModelCatalog"/> can open, declared in one place: its name, which specs it claims, and
/// how it opens one.
/// </summary>
public sealed class ModelKind
{
    private readonly Func<string, bool> _matches;
    private readonly Func<string, ILanguageModel> _open;

    /// <summary>A kind that claims the specs <paramref name="matches"/> accepts and opens them with <paramref name="open"/>.</summary>
    /// <param name="name">The kind's name (unique in the catalog; <see cref="ILanguageModel.Kind"/> of what it opens).</param>
    /// <param name="usage">How a spec of this kind is written, for error messages and help ("FILE.gguf", "served:URL").</param>
    /// <param name="matches">Whether a spec is of this kind (a cheap test on the string, no I/O beyond a file check).</param>
    /// <param name="open">Opens the model named by a spec this kind claimed; bad input is a one-line <see cref="InputException"/>.</param>
    public ModelKind(string name, string usage, Func<string, bool> matches, Func<string, ILanguageModel> open)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(usage);
        Name = name;
        Usage = usage;
        _matches = matches ?? throw new ArgumentNullException(nameof(matches));
        _open = open ?? throw new ArgumentNullException(nameof(open));
    }

    /// <summary>A kind named by a URI-like prefix: specs <c>PREFIX:REST</c>; <paramref name="open"/> receives REST.</summary>
    public static ModelKind WithScheme(string scheme, string usage, Func<string, ILanguageModel> open)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scheme);
        string prefix = scheme + ":";
        return new ModelKind(scheme, usage, spec => spec.StartsWith(prefix, StringComparison.Ordinal), spec => open(spec[prefix.Length..]));
    }

    /// <summary>The kind's name.</summary>
    public string Name { get; }
    /// <summary>How a spec of this kind is written.</summary>
    public string Usage { get; }
    /// <summary>Whether <paramref name="spec"/> is of this kind.</summary>
    public bool Matches(string spec) => _matches(spec);
    /// <summary>Opens the model <paramref name="spec"/> names.</summary>
    public ILanguageModel Open(string spec) => _open(spec);
}

/// <summary>
/// Opens a model from the string a user gives (<c>--model</c>, the <c>model</c> parameter): every command opens models
/// here, so a new kind of model — a served model, or a test-only kind — is added by one <see cref="Register"/> call
/// next to its implementation. Built in: a <c>.gguf</c> file (<see cref="GgufModel"/>, in-process llama.cpp) and any
/// other existing file as an n-gram model (<see cref="NGramModel"/>, from <c>lm train</c>). Registered kinds are
/// consulted first, in the order they were registered, so a scheme such as <c>served:</c> wins over the
/// file fallback. Thread-safe.
/// </summary>
public static class ModelCatalog
{
    private static readonly ModelKind Gguf = new("gguf", "FILE.gguf",
        spec => spec.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase), path =>
        {
            LmExplore.Instances.InputPath.Check(path); // a FIFO would block llama.cpp's reader, a device would never end
            return GgufModel.Load(path);
        });
    private static readonly ModelKind NGram = new("ngram", "an n-gram model file from 'lm train'",
        spec => File.Exists(spec) || Directory.Exists(spec), OpenNGram);

    private static readonly Lock Gate = new();
    private static ModelKind[] _registered = [];   // replaced, never mutated: readers need no lock

    /// <summary>Every kind, in the order specs are matched: registered kinds, then the built-in ones.</summary>
    public static IReadOnlyList<ModelKind> Kinds => [.. Volatile.Read(ref _registered), Gguf, NGram];

    /// <summary>
    /// Adds <paramref name="kind"/>, or replaces the registered kind of the same name (so registering again is harmless,
    /// also from parallel callers). The built-in names cannot be replaced.
    /// </summary>
    public static void Register(ModelKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (kind.Name == Gguf.Name || kind.Name == NGram.Name) throw new ArgumentException($"'{kind.Name}' is a built-in model kind", nameof(kind));
        lock (Gate)
        {
            var current = _registered;
            int i = Array.FindIndex(current, k => k.Name == kind.Name);
            if (i >= 0 && ReferenceEquals(current[i], kind)) return;
            var next = i >= 0 ? (ModelKind[])current.Clone() : [.. current, kind];
            if (i >= 0) next[i] = kind;
            Volatile.Write(ref _registered, next);
        }
    }

    /// <summary>Opens the model <paramref name="spec"/> names. An empty spec, or one no kind claims (a missing file), is a
    /// one-line <see cref="InputException"/> naming it.</summary>
    public static ILanguageModel Open(string spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) throw new InputException("--model needs a model (FILE.gguf, an n-gram model file, or KIND:…)");
        foreach (var kind in Kinds)
            if (kind.Matches(spec)) return kind.Open(spec);
        throw new InputException($"{spec}: file not found, and no model kind claims it (a model is {string.Join("; ", Kinds.Select(k => k.Usage))})");
    }

    private static NGramModel OpenNGram(string path) => Directory.Exists(path)
        ? throw new InputException($"{path}: is a directory, not a model file")
        : NGramModel.Load(path);
}
