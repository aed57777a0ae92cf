using System.Globalization;

namespace LmExplore.Instances;

/// <summary>
/// The ranges inside which the exact evaluation (log space) gives every number to many digits; every instance
/// source — families, JSON, .npz — refuses input outside them with a one-line <see cref="InputException"/>.
/// </summary>
/// <remarks>
/// Why these numbers:
/// <list type="bullet">
/// <item>β ∈ [<see cref="MinBeta"/>, <see cref="MaxBeta"/>] is the supported range (docs/FRAMEWORK.md). Outside it the evaluation breaks
/// in both directions: β = 1e20 makes every r/β ≈ 1e-20, below the rounding of log Z (J_opt came out below J_ref),
/// and β = 1e-300 makes r/β ≈ 1e300, which swallows log π_ref (C_cov came out 1).</item>
/// <item>Σ_i |θ_i·φ_i| / β ≤ <see cref="MaxRewardOverBeta"/> for every response. It bounds |r|/β, so log Z,
/// log π*/π_ref and log C_cov ≤ 2·R_max/β stay finite in log space, and it bounds the rounding of r/β by
/// d·2⁻⁵³·10⁸ (≈ 10⁻⁸·d, typically √d times less): π*/π_ref keeps about 8 significant digits and log π_ref down to
/// −690 (masses of 1e-300) still registers next to r/β. The supported corner (R_max = 100, β = 1e-4) is 10⁶, 100× inside.
/// Using Σ|θ_i φ_i| rather than |⟨θ,φ⟩| also refuses huge terms that cancel to a small, meaningless reward.</item>
/// <item>|θ_i|, |φ_i| ≤ <see cref="MaxMagnitude"/>: learners accumulate φφᵀ over many samples; 10¹² keeps those
/// sums (≤ 10²⁴ per sample) far from overflow.</item>
/// </list>
/// C_cov itself may still exceed a double (e^{2·10⁶} at that corner); it is then reported through its
/// logarithm, which is always finite.
/// </remarks>
public static class InstanceLimits
{
    /// <summary>Smallest accepted β (docs/FRAMEWORK.md).</summary>
    public const double MinBeta = 1e-4;

    /// <summary>Largest accepted β (docs/FRAMEWORK.md).</summary>
    public const double MaxBeta = 1e3;

    /// <summary>Largest accepted Σ_i |θ_i φ_i(x,y)| / β over responses (bounds |r*|/β and its rounding).</summary>
    public const double MaxRewardOverBeta = 1e8;

    /// <summary>Largest accepted |θ_i| and |φ_i(x,y)|.</summary>
    public const double MaxMagnitude = 1e12;

    /// <summary>Null when β is in range, else what is wrong (without the parameter's name).</summary>
    public static string? BetaProblem(double beta) =>
        double.IsFinite(beta) && beta >= MinBeta && beta <= MaxBeta
            ? null
            : $"must be in [{Fmt(MinBeta)}, {Fmt(MaxBeta)}] (got {Fmt(beta)})";

    /// <summary>Throws a one-line <see cref="InputException"/> "<paramref name="where"/>: must be in …" when β is out of range.</summary>
    public static void CheckBeta(double beta, string where)
    {
        if (BetaProblem(beta) is string problem) throw new InputException($"{where}: {problem}");
    }

    /// <summary>Index of the first entry with |v| &gt; <see cref="MaxMagnitude"/> or not finite, or −1.</summary>
    public static int FirstTooLarge(ReadOnlySpan<double> values)
    {
        if (AllWithin(values, MaxMagnitude)) return -1;
        for (int i = 0; i < values.Length; i++)
            if (!(Math.Abs(values[i]) <= MaxMagnitude)) return i;
        return -1;
    }

    /// <summary>Whether every |v| ≤ <paramref name="limit"/> (false for NaN): one SIMD pass with no branch per element, so
    /// that checking a million-row feature matrix costs a few milliseconds.</summary>
    internal static bool AllWithin(ReadOnlySpan<double> values, double limit)
    {
        var lim = new System.Numerics.Vector<double>(limit);
        var vectors = System.Runtime.InteropServices.MemoryMarshal.Cast<double, System.Numerics.Vector<double>>(values);
        var ok = System.Numerics.Vector<long>.AllBitsSet;
        foreach (var v in vectors) ok &= System.Numerics.Vector.LessThanOrEqual(System.Numerics.Vector.Abs(v), lim);
        if (!System.Numerics.Vector.EqualsAll(ok, System.Numerics.Vector<long>.AllBitsSet)) return false;
        for (int i = vectors.Length * System.Numerics.Vector<double>.Count; i < values.Length; i++)
            if (!(Math.Abs(values[i]) <= limit)) return false;
        return true;
    }

    /// <summary>"must be finite with |value| ≤ 1e12 (got …)".</summary>
    public static string MagnitudeProblem(double value) => $"must be finite with |value| ≤ {Fmt(MaxMagnitude)} (got {Fmt(value)})";

    /// <summary>
    /// Checks Σ_i |θ_i φ_i| / β ≤ <see cref="MaxRewardOverBeta"/> for every response of a row-major N × d feature
    /// matrix; returns the index of the first response that fails (and its scale), or −1.
    /// </summary>
    public static int FirstRewardTooLarge(ReadOnlySpan<double> features, ReadOnlySpan<double> theta, double beta, out double scaleOverBeta)
    {
        int d = theta.Length;
        int n = d == 0 ? 0 : features.Length / d;
        // Σ_i |θ_i φ_i| ≤ ‖θ‖₁·max|φ|: when that bound passes (the usual case) no row needs a look.
        double thetaL1 = System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(theta);
        if (n > 0 && thetaL1 > 0 && AllWithin(features, MaxRewardOverBeta * beta / thetaL1)) { scaleOverBeta = 0; return -1; }
        if (n > 0 && thetaL1 == 0) { scaleOverBeta = 0; return -1; }
        for (int y = 0; y < n; y++)
        {
            var row = features.Slice(y * d, d);
            double s = 0;
            for (int i = 0; i < d; i++) s += Math.Abs(theta[i] * row[i]);
            double ratio = s / beta;
            if (!(ratio <= MaxRewardOverBeta)) { scaleOverBeta = ratio; return y; }
        }
        scaleOverBeta = 0;
        return -1;
    }

    /// <summary>The message for a response whose reward scale is out of range.</summary>
    public static string RewardProblem(double scaleOverBeta, double beta) =>
        $"reward scale Σ|theta_i·features_i|/beta = {Fmt(scaleOverBeta)} exceeds {Fmt(MaxRewardOverBeta)} (beta = {Fmt(beta)}); " +
        "r/beta this large leaves no precision for log pi_ref — rescale features or theta";

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
