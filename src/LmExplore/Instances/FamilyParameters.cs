
namespace LmExplore.Instances;

/// <summary>
/// What the families share when reading their <c>key=value</c> parameters: the reader itself is
/// <see cref="OptionReader"/> (names matched case-insensitively, so <c>r=2</c> means <c>R=2</c> for needle); this
/// adds the composite parameters every family reads the same way (<c>beta</c>, the noise model) and the number
/// formatting of instance names.
/// </summary>
public static class FamilyParameters
{
    /// <summary>The reader of <paramref name="family"/>'s parameters; a name outside <paramref name="known"/> is refused at once.</summary>
    public static OptionReader Open(string family, IReadOnlyDictionary<string, string> parameters, IReadOnlyList<string> known) =>
        OptionReader.ForFamily(family, parameters, known);

    /// <summary>The <c>beta</c> parameter, in [<see cref="InstanceLimits.MinBeta"/>, <see cref="InstanceLimits.MaxBeta"/>].</summary>
    public static double Beta(this OptionReader p, double fallback) => p.Real("beta", fallback, InstanceLimits.MinBeta, InstanceLimits.MaxBeta);

    /// <summary>The noise model from <c>noise</c> and <c>sigma</c>; sigma is rejected for noise other than gaussian.</summary>
    public static NoiseModel Noise(this OptionReader p, string fallbackKind = "gaussian", double fallbackSigma = 0.1)
    {
        string kind = p.Choice("noise", fallbackKind, "none", "gaussian", "bernoulli");
        if (kind != "gaussian")
        {
            if (p.Has("sigma")) throw new InputException($"{p.Owner}: parameter 'sigma' only applies to noise=gaussian (noise is {kind})");
            return kind == "none" ? NoiseModel.None : NoiseModel.Bernoulli;
        }
        return NoiseModel.Gaussian(p.Real("sigma", fallbackSigma, 0));
    }

    /// <summary>Invariant, shortest round-trip formatting for names and messages (<see cref="OptionReader.Format"/>).</summary>
    public static string Fmt(double v) => OptionReader.Format(v);
}
