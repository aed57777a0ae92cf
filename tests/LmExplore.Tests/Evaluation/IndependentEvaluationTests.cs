using System.Globalization;
using System.Text;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Evaluation;

/// <summary>
/// <c>instance inspect --json</c> on a file written here as plain JSON text
/// (not by our exporter) — heavy-tailed π_ref, 20 000 responses per prompt, β = 1e-3, uneven prompt weights,
/// features of norm up to 1.5, integers and exponent notation — agrees to 1e-8 relative with an independent
/// computation (System.Random, compensated sums, its own log-sum-exp), on J_opt, J_ref and C_cov.
/// </summary>
public class IndependentEvaluationTests
{
    [Theory]
    [InlineData(1, 1e-3, 1.0, false)]
    [InlineData(2, 1e-3, 50.0, true)]
    [InlineData(3, 1e-4, 100.0, false)]
    public void Inspect_AgreesWithAnIndependentEvaluator(int seed, double beta, double rewardScale, bool logNormal)
    {
        const int d = 3, responses = 20_000;
        var random = new Random(seed);
        double[] weights = [0.7, 0.2999, 1e-4];
        var theta = new double[d];
        for (int i = 0; i < d; i++) theta[i] = rewardScale * (random.NextDouble() - 0.5);

        var text = new StringBuilder();
        text.Append("{\"format\":\"lmexplore.instance/v1\",\"beta\":").Append(F(beta)).Append(",\"featureDim\":3,\"theta\":[")
            .Append(string.Join(",", theta.Select(F))).Append("],\"noise\":{\"kind\":\"none\"},\"prompts\":[");
        double jOpt = 0, jRef = 0, logCCov = double.NegativeInfinity;
        for (int x = 0; x < weights.Length; x++)
        {
            // Heavy tail: Zipf(1.1) masses in random order, or log-normal(σ = 3).
            var mass = new double[responses];
            for (int y = 0; y < responses; y++) mass[y] = logNormal ? Math.Exp(3 * Gaussian(random)) : 1 / Math.Pow(y + 1, 1.1);
            random.Shuffle(mass);
            double total = Neumaier(mass);
            var prob = mass.Select(m => m / total).ToArray();
            var reward = new double[responses];
            if (x > 0) text.Append(',');
            text.Append("{\"weight\":").Append(F(weights[x])).Append(",\"responses\":[");
            for (int y = 0; y < responses; y++)
            {
                var phi = new double[d];
                for (int i = 0; i < d; i++) phi[i] = y % 97 == 0 ? Math.Round(random.NextDouble() * 2 - 1) : 1.5 * (random.NextDouble() - 0.5);
                reward[y] = Neumaier(phi.Select((v, i) => v * theta[i]).ToArray());
                if (y > 0) text.Append(',');
                text.Append("{\"refProb\":").Append(prob[y].ToString("E16", CultureInfo.InvariantCulture))
                    .Append(",\"features\":[").Append(string.Join(",", phi.Select(F))).Append(']');
                if (y == 0) text.Append(",\"text\":\"first \\\"response\\\"\"");
                text.Append('}');
            }
            text.Append("]}");
            // Independent evaluation from the values as written (re-parsed, so both sides see the same doubles).
            prob = prob.Select(p => double.Parse(p.ToString("E16", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)).ToArray();
            var exponent = prob.Select((p, y) => Math.Log(p) + reward[y] / beta).ToArray();
            double top = exponent.Max();
            double logZ = top + Math.Log(Neumaier(exponent.Select(a => Math.Exp(a - top)).ToArray()));
            jOpt += weights[x] * beta * logZ;
            jRef += weights[x] * Neumaier(prob.Select((p, y) => p * reward[y]).ToArray());
            logCCov = Math.Max(logCCov, reward.Max() / beta - logZ);
        }
        text.Append("]}");

        using var dir = CliHarness.TempDir();
        var file = dir.Write("independent.json", text.ToString());
        var json = CliHarness.Invoke("instance", "inspect", file, "--json").SingleJsonObject();
        AssertRelative(jOpt, json.GetProperty("J_opt").GetDouble(), "J_opt");
        AssertRelative(jRef, json.GetProperty("J_ref").GetDouble(), "J_ref");
        AssertRelative(logCCov, json.GetProperty("log_C_cov").GetDouble(), "log C_cov");
        AssertRelative(Math.Exp(logCCov), json.GetProperty("C_cov").GetDouble(), "C_cov");
    }

    private static void AssertRelative(double expected, double actual, string what) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-8 * Math.Abs(expected), $"{what}: independent {expected:R}, inspect {actual:R}");

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Neumaier-compensated sum.</summary>
    private static double Neumaier(double[] values)
    {
        double sum = 0, compensation = 0;
        foreach (double v in values)
        {
            double t = sum + v;
            compensation += Math.Abs(sum) >= Math.Abs(v) ? (sum - t) + v : (v - t) + sum;
            sum = t;
        }
        return sum + compensation;
    }
}
