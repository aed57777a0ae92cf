using LmExplore.Runs;
using System.Globalization;
using System.Text.Json;
using LmExplore.Experiments;

namespace LmExplore.Tests.Runs;

/// <summary>
/// The headline is about what a user really gets: at the defaults users run (needle, C_cov = 1000, 8 × 2000
/// responses), draws from the output through <see cref="Runner.WriteOutputSamples"/> must agree with the law the
/// headline is computed from — their mean true reward with <c>expected_reward_out</c> within 4 standard errors, and
/// the share of draws on the needle (the best response) with the law's needle mass.
/// The default suite draws as many responses as ≈ 10⁷ oracle calls pay for (the output costs 10⁴–10⁵ calls a draw);
/// the slow variant (LMEXPLORE_SLOW=1) draws 20 000 (measured: 15–30 s a case, but ≈ 5 min for SpannerSampling at
/// 600·C_cov, whose output costs ≈ 1.6·10⁵ calls a draw — its coverage estimate M is far above C_cov).
/// </summary>
public class OutputSamplesAtDefaultsTests
{
    private const double Coverage = 1000;

    public static TheoryData<string, long> Cases => new()
    {
        { "spanner", 30 * (long)Coverage },
        { "spanner", 600 * (long)Coverage },
        { "passive", 30 * (long)Coverage },
        { "passive", 600 * (long)Coverage },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void DrawsAgreeWithTheLaw(string algorithm, long budgetComp) => Check(algorithm, budgetComp, null);

    [SlowTheory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(Cases))]
    public void TwentyThousandDrawsAgreeWithTheLaw(string algorithm, long budgetComp) => Check(algorithm, budgetComp, 20_000);

    private static void Check(string algorithm, long budgetComp, int? drawCount)
    {
        var request = new RunRequest("needle", new Dictionary<string, string> { ["ccov"] = "1000" }, algorithm,
            new Dictionary<string, string>(), 1, BudgetComp: budgetComp);
        var outcome = Runner.Execute(request);
        var result = outcome.Result;
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, result.Evaluation);
        var instance = ((LmExplore.Runs.EnumerableProblem)outcome.Problem).Instance;
        Assert.Equal((8, 2000), (instance.Prompts.Count, instance.Prompts[0].ResponseCount));
        int draws = drawCount ?? (int)Math.Clamp(1e7 / result.OutputSampleCost, 100, 20_000);

        using var text = new StringWriter();
        long calls = Runner.WriteOutputSamples(outcome, draws, request.Seed, text);
        Assert.InRange(calls / (double)draws / result.OutputSampleCost, 0.5, 2.0);
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(draws, lines.Length);

        // The needle of each prompt: its best response(s).
        var needle = instance.Prompts.Select(p => { double best = p.Rewards.Max(); return p.Rewards.Select(r => r == best).ToArray(); }).ToArray();
        double sum = 0, sumSquares = 0;
        long onNeedle = 0;
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            int x = doc.RootElement.GetProperty("prompt").GetInt32(), y = doc.RootElement.GetProperty("response").GetInt32();
            double r = instance.Prompts[x].Rewards[y];
            sum += r;
            sumSquares += r * r;
            if (needle[x][y]) onNeedle++;
        }
        double mean = sum / draws;
        double se = Math.Sqrt(Math.Max(sumSquares / draws - mean * mean, 0) / (draws - 1));
        string what = $"{algorithm} at --budget-comp {budgetComp.ToString(CultureInfo.InvariantCulture)}, {draws} draws";
        Assert.True(Math.Abs(mean - result.ExpectedRewardOut) <= 4 * se + 1e-9,
            $"{what}: mean reward {mean} vs expected_reward_out {result.ExpectedRewardOut} (SE {se})");

        // Needle mass under the law, averaged over ρ: Σ_x ρ(x) Σ_{y needle} P(y|x).
        var law = outcome.Policy.Sequence!.Law(instance).Sampler;
        double mass = 0, weight = 0;
        for (int x = 0; x < instance.Prompts.Count; x++)
        {
            double w = instance.Prompts[x].Weight;
            weight += w;
            for (int y = 0; y < needle[x].Length; y++) if (needle[x][y]) mass += w * Math.Exp(law.LogProbs[x][y]);
        }
        mass /= weight;
        double sdCount = Math.Sqrt(draws * mass * (1 - mass));
        Assert.True(Math.Abs(onNeedle - draws * mass) <= 4 * sdCount + 1,
            $"{what}: {onNeedle} draws on the needle, the law predicts {draws * mass:F1} (SD {sdCount:F1})");
        Assert.True(mass > 0.5, $"{what}: the output should mostly find the needle (mass {mass})");
    }
}
