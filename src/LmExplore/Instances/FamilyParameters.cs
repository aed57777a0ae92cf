using System.Globalization;
using LmExplore.Runs;

namespace LmExplore.Instances;

/// <summary>
/// Typed, validated access to a family's <c>key=value</c> parameters. Every problem — an unknown name,
/// an unparsable or out-of-range value — becomes a one-line <see cref="InputException"/> that names the
/// family and the parameter. Names match case-sensitively first, then case-insensitively
/// (so <c>r=2</c> means <c>R=2</c> for needle), but two spellings of one name are rejected.
/// </summary>
public sealed class FamilyParameters
{
    private readonly string _family;
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<string> _known;

    /// <summary>Checks every given name against <paramref name="known"/> and keeps the values for typed access.</summary>
    public FamilyParameters(string family, IReadOnlyDictionary<string, string> parameters, IReadOnlyList<string> known)
    {
        _family = family;
        _known = known;
        foreach (var (rawKey, value) in parameters)
        {
            string key = rawKey.Trim();
            string? canonical = known.FirstOrDefault(k => k == key) ?? known.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
            if (canonical is null)
                throw new InputException($"{family}: unknown parameter '{rawKey}' (known: {string.Join(", ", known)})");
            if (!_values.TryAdd(canonical, value.Trim()))
                throw new InputException($"{family}: parameter '{canonical}' given twice");
        }
    }

    /// <summary>Whether the parameter was given.</summary>
    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>A finite real in [<paramref name="min"/>, <paramref name="max"/>] (bounds exclusive when asked).</summary>
    public double Real(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity,
        bool minExclusive = false, bool maxExclusive = false)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new InputException($"{_family}: parameter '{name}' must be a finite number (got '{text}')");
        bool low = minExclusive ? v <= min : v < min;
        bool high = maxExclusive ? v >= max : v > max;
        if (low || high)
            throw new InputException($"{_family}: parameter '{name}' must be in {(minExclusive ? "(" : "[")}{Fmt(min)}, {Fmt(max)}{(maxExclusive || double.IsInfinity(max) ? ")" : "]")} (got {text})");
        return v;
    }

    /// <summary>The <c>beta</c> parameter, in [<see cref="InstanceLimits.MinBeta"/>, <see cref="InstanceLimits.MaxBeta"/>].</summary>
    public double Beta(double fallback) => Real("beta", fallback, InstanceLimits.MinBeta, InstanceLimits.MaxBeta);

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>]; "2e3" is accepted when it is integral.</summary>
    public int Integer(string name, int fallback, int min, int max = int.MaxValue)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v != Math.Floor(v))
            throw new InputException($"{_family}: parameter '{name}' must be an integer (got '{text}')");
        if (v < min || v > max)
            throw new InputException($"{_family}: parameter '{name}' must be in [{min}, {max}] (got {text})");
        return (int)v;
    }

    /// <summary>An unsigned 64-bit seed.</summary>
    public ulong Seed(ulong fallback)
    {
        if (!_values.TryGetValue("seed", out var text)) return fallback;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v))
            throw new InputException($"{_family}: parameter 'seed' must be a non-negative integer (got '{text}')");
        return v;
    }

    /// <summary>One of <paramref name="choices"/> (case-insensitive), returned in its canonical spelling.</summary>
    public string Choice(string name, string fallback, params string[] choices)
    {
        if (!_values.TryGetValue(name, out var text)) return fallback;
        foreach (var c in choices)
            if (string.Equals(c, text, StringComparison.OrdinalIgnoreCase)) return c;
        throw new InputException($"{_family}: parameter '{name}' must be one of {string.Join(", ", choices)} (got '{text}')");
    }

    /// <summary>The noise model from <c>noise</c> and <c>sigma</c>; sigma is rejected for noise other than gaussian.</summary>
    public NoiseModel Noise(string fallbackKind = "gaussian", double fallbackSigma = 0.1)
    {
        string kind = Choice("noise", fallbackKind, "none", "gaussian", "bernoulli");
        if (kind != "gaussian")
        {
            if (Has("sigma")) throw new InputException($"{_family}: parameter 'sigma' only applies to noise=gaussian (noise is {kind})");
            return kind == "none" ? NoiseModel.None : NoiseModel.Bernoulli;
        }
        return NoiseModel.Gaussian(Real("sigma", fallbackSigma, 0));
    }

    /// <summary>Invariant, shortest round-trip formatting for names and messages.</summary>
    public static string Fmt(double v) => double.IsPositiveInfinity(v) ? "inf" : double.IsNegativeInfinity(v) ? "-inf" : v.ToString("R", CultureInfo.InvariantCulture);
}
