namespace LmExplore.Numerics;

/// <summary>
/// Accurate log1p / expm1 / log(1 − e^x) for building probabilities in log space. (.NET's
/// <c>double.LogP1</c> and <c>double.ExpM1</c> are plain <c>Log(1+x)</c> / <c>Exp(x)−1</c>, which lose all
/// digits for |x| ≲ 1e-16 and half of them at 1e-8; a needle mass q ≈ e^{−R/β}, or a rejection
/// sampler's acceptance rate p ≈ 1/M with M = 10^9, needs them exact.)
/// </summary>
public static class PreciseMath
{
    /// <summary>log(1 + x), accurate for tiny x (Kahan's trick).</summary>
    public static double Log1P(double x)
    {
        double u = 1.0 + x;
        if (u == 1.0) return x;
        if (u <= 0) return u == 0 ? double.NegativeInfinity : double.NaN;
        return Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>e^x − 1, accurate for tiny x (Kahan's trick).</summary>
    public static double ExpM1(double x)
    {
        if (Math.Abs(x) >= 0.5) return Math.Exp(x) - 1.0;
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        return um1 * x / Math.Log(u);
    }

    /// <summary>log(1 − e^x) for x ≤ 0, accurate at both ends (Mächler 2012); −∞ at x = 0.</summary>
    public static double LogOneMinusExp(double x)
        => x > -0.6931471805599453 ? Math.Log(-ExpM1(x)) : Log1P(-Math.Exp(x));
}
