using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;

namespace LmExplore;

/// <summary>
/// The one reader of <c>key=value</c> options — a family's parameters (<c>--param</c>), an algorithm's
/// (<c>--algo-param</c>), a text task's — so that a value means the same thing wherever it is given.
/// Every problem is a one-line <see cref="InputException"/> naming the owner (family, algorithm or task), the
/// option, the value and what is accepted.
/// </summary>
/// <remarks>
/// <para><b>Names.</b> Either the owner lists its names up front (<c>known</c>; a name outside the list is refused
/// at once) or every read declares its name and <see cref="RejectUnknown"/>, called after the last read, refuses
/// any name no read asked for. Either way a mistyped option is an error, never a silent default. With
/// <c>ignoreCase</c> a name matches exactly first and then case-insensitively (<c>r=2</c> means <c>R=2</c> for
/// needle); two spellings of one name are refused as given twice.</para>
/// <para><b>Numbers.</b> One rule for every option. An integer is any plain or scientific decimal that denotes an
/// integer exactly (<c>2000</c>, <c>2e3</c>, <c>2.0e3</c>, <c>2.50e1</c>), computed in decimal so that no binary
/// rounding can turn <c>2.0000000000000001</c> or <c>9223372036854775808</c> into a neighbouring integer; it must
/// lie in the read's range. A real is what <see cref="double.TryParse(string, NumberStyles, IFormatProvider, out double)"/>
/// reads with <see cref="NumberStyles.Float"/> in the invariant culture, finite and in range. Leading and trailing
/// white space is ignored for numbers, booleans and choices; free text is kept verbatim.</para>
/// <para>Typical use (a text task):
/// <code>
/// var p = new OptionReader("letters", "text-task parameter", values, known: Keys);
/// int maxTokens = p.Integer("max-tokens", 8, 1, 4096);
/// double beta = p.Real("beta", 0.05, 1e-4, 1e3);
/// string reward = p.Choice("reward", "fraction", "fraction", "binary");
/// string? verifier = p.Text("verifier");
/// p.RejectUnknown();
/// </code></para>
/// </remarks>
public sealed class OptionReader
{
    // Decimal digits beyond which a value lies outside every 64-bit range: such literals are saturated rather than
    // expanded, so "1e999999999" costs nothing and still reads as out of range.
    private const int SaturationDigits = 40;
    private static readonly BigInteger Saturated = BigInteger.Pow(10, SaturationDigits);

    private readonly Dictionary<string, (string Given, string Value)> _values = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<string>? _known;
    private readonly List<string> _read = [];

    /// <summary>
    /// Reads <paramref name="values"/> for <paramref name="owner"/>. With <paramref name="known"/>, names outside it are
    /// refused here; without it, <see cref="RejectUnknown"/> refuses what no read asked for.
    /// </summary>
    /// <param name="owner">Who the options belong to, first word of every message (<c>needle</c>, <c>spanner</c>).</param>
    /// <param name="kind">What an option is called in messages (<c>parameter</c>, <c>algo-param</c>).</param>
    /// <param name="values">The options as given; names are trimmed, values kept as they are.</param>
    /// <param name="known">Every name the owner accepts, or null to declare names by reading them.</param>
    /// <param name="ignoreCase">Match names case-insensitively after an exact match fails (needs <paramref name="known"/>).</param>
    public OptionReader(string owner, string kind, IReadOnlyDictionary<string, string>? values,
        IReadOnlyList<string>? known = null, bool ignoreCase = false)
    {
        if (ignoreCase && known is null) throw new ArgumentException("case-insensitive names need the list of known names", nameof(ignoreCase));
        Owner = owner;
        Kind = kind;
        _known = known;
        foreach (var (rawKey, value) in values ?? new Dictionary<string, string>())
        {
            string key = rawKey.Trim();
            string canonical = known is null
                ? key
                : known.FirstOrDefault(k => k == key)
                  ?? (ignoreCase ? known.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase)) : null)
                  ?? throw new InputException($"{owner}: unknown {kind} '{rawKey}' (known: {string.Join(", ", known)})");
            if (_values.TryGetValue(canonical, out var earlier))
                throw new InputException($"{owner}: {kind} '{canonical}' given twice (as '{earlier.Given}' and '{rawKey}')");
            _values.Add(canonical, (rawKey, value));
        }
    }

    /// <summary>The algo-params of <paramref name="algorithm"/>: exact names, declared by reading them.</summary>
    public static OptionReader ForAlgorithm(string algorithm, IReadOnlyDictionary<string, string>? values) =>
        new(algorithm, "algo-param", values);

    /// <summary>The parameters of <paramref name="family"/>: names from <paramref name="known"/>, matched case-insensitively.</summary>
    public static OptionReader ForFamily(string family, IReadOnlyDictionary<string, string>? values, IReadOnlyList<string> known) =>
        new(family, "parameter", values, known, ignoreCase: true);

    /// <summary>Who the options belong to (first word of every message).</summary>
    public string Owner { get; }

    /// <summary>What an option is called in messages.</summary>
    public string Kind { get; }

    /// <summary>Whether <paramref name="name"/> was given (this counts as reading it).</summary>
    public bool Has(string name) => Lookup(name, out _);

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or null if not given.</summary>
    public long? IntegerOrNull(string name, long min, long max)
    {
        if (!Lookup(name, out var text)) return null;
        if (ExactInteger(text) is { } v && v >= min && v <= max) return (long)v;
        throw Bad(name, $"an integer in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]", text);
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> if not given.</summary>
    public long Integer(string name, long fallback, long min, long max) => IntegerOrNull(name, min, max) ?? fallback;

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="fallback"/> if not given.</summary>
    public int Integer(string name, int fallback, int min, int max) => (int)(IntegerOrNull(name, min, max) ?? fallback);

    /// <summary>An unsigned 64-bit integer (a seed), or <paramref name="fallback"/> if not given.</summary>
    public ulong Seed(string name, ulong fallback)
    {
        if (!Lookup(name, out var text)) return fallback;
        if (ExactInteger(text) is { } v && v >= 0 && v <= ulong.MaxValue) return (ulong)v;
        throw Bad(name, $"an unsigned 64-bit integer in [0, {ulong.MaxValue.ToString(CultureInfo.InvariantCulture)}]", text);
    }

    /// <summary>A finite real in [<paramref name="min"/>, <paramref name="max"/>] (bounds exclusive where asked), or null if not given.</summary>
    public double? RealOrNull(string name, double min = double.NegativeInfinity, double max = double.PositiveInfinity,
        bool minExclusive = false, bool maxExclusive = false)
    {
        if (!Lookup(name, out var text)) return null;
        if (TryParseReal(text, out double v) && (minExclusive ? v > min : v >= min) && (maxExclusive ? v < max : v <= max)) return v;
        throw Bad(name, "a finite number" + Range(min, max, minExclusive, maxExclusive), text);
    }

    /// <summary>A finite real in [<paramref name="min"/>, <paramref name="max"/>] (bounds exclusive where asked), or <paramref name="fallback"/> if not given.</summary>
    public double Real(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity,
        bool minExclusive = false, bool maxExclusive = false) =>
        RealOrNull(name, min, max, minExclusive, maxExclusive) ?? fallback;

    /// <summary>A boolean (<c>true</c>/<c>false</c>, <c>1</c>/<c>0</c>, <c>yes</c>/<c>no</c>, any case), or null if not given.</summary>
    public bool? BooleanOrNull(string name)
    {
        if (!Lookup(name, out var text)) return null;
        return text.Trim().ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw Bad(name, "true or false", text),
        };
    }

    /// <summary>A boolean, or <paramref name="fallback"/> if not given.</summary>
    public bool Boolean(string name, bool fallback) => BooleanOrNull(name) ?? fallback;

    /// <summary>One of <paramref name="choices"/> (any case), returned as spelled there; <paramref name="fallback"/> if not given.</summary>
    public string Choice(string name, string fallback, params string[] choices)
    {
        if (!Lookup(name, out var text)) return fallback;
        foreach (var c in choices)
            if (string.Equals(c, text.Trim(), StringComparison.OrdinalIgnoreCase)) return c;
        throw Bad(name, $"one of {string.Join(", ", choices)}", text);
    }

    /// <summary>Free text exactly as given (spaces, quotes and '=' included), or <paramref name="fallback"/> if not given.</summary>
    [return: NotNullIfNotNull(nameof(fallback))]
    public string? Text(string name, string? fallback = null) => Lookup(name, out var text) ? text : fallback;

    /// <summary>
    /// Refuses any option that was given but never read: for an owner without a list of names it is unknown (the
    /// message lists the names read); for one with a list it was given where it has no effect.
    /// </summary>
    public void RejectUnknown()
    {
        foreach (var (name, (given, _)) in _values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (_read.Contains(name)) continue;
            throw _known is null
                ? new InputException($"{Owner}: unknown {Kind} '{given}' (known: {string.Join(", ", _read)})")
                : new InputException($"{Owner}: {Kind} '{given}' has no effect here");
        }
    }

    /// <summary>
    /// The integer <paramref name="text"/> denotes, exactly, or null when it denotes none: an optional sign, decimal
    /// digits with an optional point, an optional exponent (<c>2000</c>, <c>-7</c>, <c>2e3</c>, <c>2.0e3</c>,
    /// <c>2.50e1</c>); surrounding white space is ignored. <c>8.7</c>, <c>1e-3</c>, <c>inf</c>, <c>0x10</c> and the
    /// empty string denote none. A magnitude of 10⁴⁰ or more (beyond every 64-bit range) comes back as ±10⁴⁰.
    /// </summary>
    public static BigInteger? ExactInteger(string text)
    {
        var s = text.AsSpan().Trim();
        int i = 0;
        bool negative = false;
        if (i < s.Length && s[i] is '+' or '-') negative = s[i++] == '-';
        int intStart = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        var intDigits = s[intStart..i];
        var fracDigits = ReadOnlySpan<char>.Empty;
        if (i < s.Length && s[i] == '.')
        {
            int fracStart = ++i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            fracDigits = s[fracStart..i];
        }
        if (intDigits.Length + fracDigits.Length == 0) return null;
        long exponent = 0;
        if (i < s.Length && s[i] is 'e' or 'E')
        {
            i++;
            bool negativeExponent = false;
            if (i < s.Length && s[i] is '+' or '-') negativeExponent = s[i++] == '-';
            int expStart = i;
            while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
            var expDigits = s[expStart..i].TrimStart('0');
            if (i == expStart) return null; // "1e" has no exponent
            // Past nine digits the exponent only matters through its sign: the value saturates or is no integer.
            exponent = expDigits.Length > 9 ? 1_000_000_000 : expDigits.Length == 0 ? 0 : long.Parse(expDigits, CultureInfo.InvariantCulture);
            if (negativeExponent) exponent = -exponent;
        }
        if (i != s.Length) return null;

        string digits = (intDigits.ToString() + fracDigits.ToString()).TrimStart('0');
        if (digits.Length == 0) return BigInteger.Zero; // zero, however written
        exponent -= fracDigits.Length;
        if (exponent < 0)
        {
            // A negative exponent is fine only when it removes trailing zeros (2.50e1 = 25).
            int trailingZeros = digits.Length - digits.TrimEnd('0').Length;
            if (-exponent > trailingZeros) return null;
            digits = digits[..^(int)-exponent];
            exponent = 0;
        }
        var magnitude = digits.Length + exponent > SaturationDigits
            ? Saturated
            : BigInteger.Parse(digits, CultureInfo.InvariantCulture) * BigInteger.Pow(10, (int)exponent);
        return negative ? -magnitude : magnitude;
    }

    /// <summary>A finite real as <see cref="double.TryParse(string, NumberStyles, IFormatProvider, out double)"/> reads it (float style, invariant culture).</summary>
    public static bool TryParseReal(string text, out double value) =>
        double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    /// <summary>Invariant, shortest round-trip formatting (<c>inf</c>/<c>-inf</c> for infinities) for names and messages.</summary>
    public static string Format(double v) =>
        double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : v.ToString("R", CultureInfo.InvariantCulture);

    // Finds a declared name's value and marks the name as read.
    private bool Lookup(string name, out string text)
    {
        if (_known is not null && !_known.Contains(name))
            throw new ArgumentException($"{Owner}: {Kind} '{name}' is read but not among the known names", nameof(name));
        if (!_read.Contains(name)) _read.Add(name);
        if (_values.TryGetValue(name, out var entry))
        {
            text = entry.Value;
            return true;
        }
        text = "";
        return false;
    }

    private InputException Bad(string name, string accepted, string text) =>
        new($"{Owner}: {Kind} '{name}' must be {accepted}, got '{text}'");

    // " in [a, b]" with a round bracket for an exclusive or infinite bound; empty when both bounds are infinite.
    private static string Range(double min, double max, bool minExclusive, bool maxExclusive)
    {
        if (double.IsNegativeInfinity(min) && double.IsPositiveInfinity(max)) return "";
        string lo = minExclusive || double.IsInfinity(min) ? "(" : "[", hi = maxExclusive || double.IsInfinity(max) ? ")" : "]";
        return $" in {lo}{Format(min)}, {Format(max)}{hi}";
    }
}
