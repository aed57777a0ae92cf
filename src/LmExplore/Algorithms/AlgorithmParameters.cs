using System.Globalization;
using LmExplore.Runs;

namespace LmExplore.Algorithms;

/// <summary>
/// Typed access to <c>--algo-param k=v</c> values for one algorithm. Every read names the key it
/// accepts; <see cref="RejectUnknown"/> turns any key nobody read into a one-line
/// <see cref="InputException"/> listing the known ones, so a typo never silently falls back to a default.
/// </summary>
public sealed class AlgorithmParameters
{
    private readonly string _algorithm;
    private readonly IReadOnlyDictionary<string, string> _values;
    private readonly List<string> _known = [];

    /// <summary>Wraps the raw key/value pairs given to <paramref name="algorithm"/>.</summary>
    public AlgorithmParameters(string algorithm, IReadOnlyDictionary<string, string>? values)
    {
        _algorithm = algorithm;
        _values = values ?? new Dictionary<string, string>();
    }

    /// <summary>True if the user set <paramref name="key"/>.</summary>
    public bool Has(string key) => _values.ContainsKey(key);

    /// <summary>A real number in [min, max] (bounds exclusive where asked), or null if not given.</summary>
    public double? Real(string key, double min = double.NegativeInfinity, double max = double.PositiveInfinity,
        bool minExclusive = false, bool maxExclusive = false)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out var text)) return null;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new InputException($"{_algorithm}: algo-param '{key}' must be a finite number, got '{text}'");
        bool tooLow = minExclusive ? !(v > min) : !(v >= min);
        bool tooHigh = maxExclusive ? !(v < max) : !(v <= max);
        if (tooLow || tooHigh)
        {
            string lo = minExclusive ? "(" : "[", hi = maxExclusive ? ")" : "]";
            throw new InputException($"{_algorithm}: algo-param '{key}' must lie in {lo}{Fmt(min)}, {Fmt(max)}{hi}, got {text}");
        }
        return v;
    }

    /// <summary>An integer in [min, max], or null if not given.</summary>
    public long? Integer(string key, long min = 0, long max = long.MaxValue)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out var text)) return null;
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
            throw new InputException($"{_algorithm}: algo-param '{key}' must be an integer, got '{text}'");
        if (v < min || v > max)
            throw new InputException($"{_algorithm}: algo-param '{key}' must lie in [{min}, {max}], got {text}");
        return v;
    }

    /// <summary>A boolean (true/false/1/0), or null if not given.</summary>
    public bool? Boolean(string key)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out var text)) return null;
        return text.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new InputException($"{_algorithm}: algo-param '{key}' must be true or false, got '{text}'"),
        };
    }

    /// <summary>One of <paramref name="choices"/> (case-insensitive, returned as spelled there), or <paramref name="fallback"/> if not given.</summary>
    public string Choice(string key, string fallback, params string[] choices)
    {
        _known.Add(key);
        if (!_values.TryGetValue(key, out var text)) return fallback;
        foreach (var c in choices)
            if (string.Equals(c, text.Trim(), StringComparison.OrdinalIgnoreCase)) return c;
        throw new InputException($"{_algorithm}: algo-param '{key}' must be one of {string.Join(", ", choices)}, got '{text}'");
    }

    /// <summary>Throws if a key was given that no read asked for.</summary>
    public void RejectUnknown()
    {
        foreach (var key in _values.Keys.OrderBy(k => k, StringComparer.Ordinal))
            if (!_known.Contains(key))
                throw new InputException($"{_algorithm}: unknown algo-param '{key}' (known: {string.Join(", ", _known.Distinct())})");
    }

    private static string Fmt(double v) =>
        double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : v.ToString("R", CultureInfo.InvariantCulture);
}
