using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Core;

/// <summary>Metering and budgets (SPEC §1): what each oracle call costs, and that a budget is never exceeded.</summary>
public class MeterAndEnvironmentTests
{
    [Fact]
    public void BudgetsAreEnforcedExactly()
    {
        var meter = new Meter(budgetData: 3, budgetComp: 10, budgetTokens: 0);
        for (int i = 0; i < 3; i++) meter.ChargeData();
        var ex = Assert.Throws<BudgetExhaustedException>(() => meter.ChargeData());
        Assert.Equal(BudgetKind.Data, ex.Kind);
        Assert.Equal(3, meter.TData);           // the refused call is not counted
        Assert.Equal(0, meter.RemainingData);

        meter.ChargeComp(6);
        Assert.Equal(BudgetKind.Comp, Assert.Throws<BudgetExhaustedException>(() => meter.ChargeComp(5)).Kind);
        Assert.Equal(6, meter.TComp);           // a refused bulk charge is not counted either
        meter.ChargeComp(4);                    // exactly up to the budget is allowed
        Assert.Equal(10, meter.TComp);
        Assert.Throws<BudgetExhaustedException>(() => meter.ChargeComp());
        Assert.Equal(10, meter.TComp);

        Assert.Equal(BudgetKind.Tokens, Assert.Throws<BudgetExhaustedException>(() => meter.ChargeTokens()).Kind);
        Assert.Equal(0, meter.TTokens);

        var unlimited = new Meter();
        unlimited.ChargeComp(1_000_000_000_000);
        unlimited.ChargeData(5);
        unlimited.ChargeTokens(7);
        Assert.Equal(long.MaxValue, unlimited.RemainingComp);
        Assert.Equal((1_000_000_000_000L, 5L, 7L), (unlimited.TComp, unlimited.TData, unlimited.TTokens));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Meter(budgetData: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => unlimited.ChargeComp(-1)); // a negative charge would refund calls
    }

    private static EnumerableInstance SmallInstance(NoiseModel noise, double[]? rewards = null)
    {
        // d = 1, φ(x,y) = reward value, θ* = 1: r*(x,y) is the feature itself.
        rewards ??= [0.1, 0.5, 0.9, 0.3];
        var logRef = Enumerable.Repeat(Math.Log(1.0 / rewards.Length), rewards.Length).ToArray();
        var prompts = new List<EnumerablePrompt>
        {
            new(0.2, logRef, (double[])rewards.Clone(), 1, [1.0]),
            new(0.8, (double[])logRef.Clone(), rewards.Select(r => 1 - r).ToArray(), 1, [1.0]),
            new(0.0, (double[])logRef.Clone(), (double[])rewards.Clone(), 1, [1.0]),
        };
        return new EnumerableInstance("meter-test", 0.5, [1.0], noise, prompts);
    }

    [Fact]
    public void EnvironmentChargesWhatSpecSays()
    {
        var inst = SmallInstance(NoiseModel.None);
        var meter = new Meter();
        var env = new EnumerableEnvironment(inst, meter, new Rng(1));
        var rng = new Rng(2);
        int x = env.DrawPrompt(rng);
        Assert.Equal((0L, 0L, 0L), (meter.TComp, meter.TData, meter.TTokens)); // drawing prompts is free
        int y = env.Sample(x, rng);
        Assert.Equal(1, meter.TComp);
        Assert.Equal(inst.Prompts[x].Rewards[y], env.Query(x, y));
        Assert.Equal(1, meter.TData);
        env.ChargeEnumeration(x);
        Assert.Equal(1 + 4, meter.TComp);
        Span<int> batch = stackalloc int[7];
        env.Sample(x, rng, batch);
        Assert.Equal(1 + 4 + 7, meter.TComp);
        foreach (int b in batch) Assert.InRange(b, 0, 3);
        // Log-probabilities and features are free.
        Assert.Equal(Math.Log(0.25), env.LogProb(x, 2), 15);
        var phi = new double[1];
        env.Features(x, 2, phi);
        Assert.Equal(inst.Prompts[x].FeatureRow(2)[0], phi[0]);
        Assert.Equal(phi[0], env.FeatureRow(x, 2)[0]);
        Assert.Equal((12L, 1L), (meter.TComp, meter.TData));
    }

    [Fact]
    public void PromptsFollowRhoAndUnreceivedPromptsAreRefused()
    {
        var inst = SmallInstance(NoiseModel.None);
        var meter = new Meter();
        var env = new EnumerableEnvironment(inst, meter, new Rng(1));
        // Prompt 2 has ρ = 0: it is never drawn, so it can never be asked about.
        var rng = new Rng(3);
        var counts = new long[3];
        for (int i = 0; i < 100_000; i++) counts[env.DrawPrompt(rng)]++;
        Assert.Equal(0, counts[2]);
        Stats.AssertFits(counts.AsSpan(0, 2), [0.2, 0.8], "prompt distribution ρ");
        Assert.Throws<InvalidOperationException>(() => env.Sample(2, rng));
        Assert.Throws<InvalidOperationException>(() => env.Query(2, 0));
        Assert.Throws<InvalidOperationException>(() => env.ChargeEnumeration(2));
        Assert.Throws<InvalidOperationException>(() => env.Sample(-1, rng));
        Assert.Throws<InvalidOperationException>(() => env.Sample(3, rng));
        Assert.Equal((0L, 0L), (meter.TComp, meter.TData)); // refused calls cost nothing

        var fresh = new EnumerableEnvironment(inst, new Meter(), new Rng(1));
        Assert.Throws<InvalidOperationException>(() => fresh.Sample(0, rng)); // nothing received yet
    }

    [Fact]
    public void OracleCallsBeyondTheBudgetThrowAndAreNotCounted()
    {
        var inst = SmallInstance(NoiseModel.None);
        var meter = new Meter(budgetData: 2, budgetComp: 5);
        var env = new EnumerableEnvironment(inst, meter, new Rng(1));
        var rng = new Rng(4);
        int x = env.DrawPrompt(rng);
        env.ChargeEnumeration(x);                                  // 4 of 5
        Assert.Throws<BudgetExhaustedException>(() => env.ChargeEnumeration(x));
        Assert.Throws<BudgetExhaustedException>(() => env.Sample(x, rng, new int[2]));
        Assert.Equal(4, meter.TComp);
        env.Sample(x, rng);                                        // 5 of 5
        Assert.Throws<BudgetExhaustedException>(() => env.Sample(x, rng));
        Assert.Equal(5, meter.TComp);
        env.Query(x, 0);
        env.Query(x, 1);
        Assert.Equal(BudgetKind.Data, Assert.Throws<BudgetExhaustedException>(() => env.Query(x, 2)).Kind);
        Assert.Equal(2, meter.TData);
    }

    [Fact]
    public void GaussianNoiseHasMeanRStarAndStandardDeviationSigma()
    {
        const double sigma = 0.3;
        var inst = SmallInstance(NoiseModel.Gaussian(sigma));
        var env = new EnumerableEnvironment(inst, new Meter(), new Rng(5));
        var rng = new Rng(6);
        int x;
        do x = env.DrawPrompt(rng); while (x != 1);
        const int n = 100_000;
        double r = inst.Prompts[1].Rewards[2];
        double s1 = 0, s2 = 0;
        for (int i = 0; i < n; i++) { double q = env.Query(1, 2) - r; s1 += q; s2 += q * q; }
        // mean within 5σ/√n; sample sd within 5·σ/√(2n) of σ.
        Assert.InRange(s1 / n, -5 * sigma / Math.Sqrt(n), 5 * sigma / Math.Sqrt(n));
        Assert.InRange(Math.Sqrt(s2 / n), sigma * (1 - 5 / Math.Sqrt(2.0 * n)), sigma * (1 + 5 / Math.Sqrt(2.0 * n)));
        Assert.Equal(n, env.Meter.TData);
    }

    [Fact]
    public void BernoulliNoiseReturnsZeroOrOneWithMeanRStar()
    {
        var inst = SmallInstance(NoiseModel.Bernoulli, [0.1, 0.5, 0.9, 0.0]);
        var env = new EnumerableEnvironment(inst, new Meter(), new Rng(7));
        int x = env.DrawPrompt(new Rng(8));
        const int n = 50_000;
        for (int y = 0; y < 4; y++)
        {
            double r = inst.Prompts[x].Rewards[y];
            long ones = 0;
            for (int i = 0; i < n; i++)
            {
                double q = env.Query(x, y);
                if (q != 0 && q != 1) Assert.Fail($"Bernoulli reward {q}");
                if (q == 1) ones++;
            }
            double sd = Math.Sqrt(n * r * (1 - r));
            Assert.InRange(ones, n * r - 5 * sd - 0.5, n * r + 5 * sd + 0.5);
        }
    }

    [Fact]
    public void NoiseIsDeterminedByTheNoiseSeed()
    {
        var inst = SmallInstance(NoiseModel.Gaussian(1.0));
        double[] Run(ulong seed)
        {
            var env = new EnumerableEnvironment(inst, new Meter(), new Rng(seed));
            int x = env.DrawPrompt(new Rng(9));
            return Enumerable.Range(0, 20).Select(i => env.Query(x, i % 4)).ToArray();
        }
        Assert.Equal(Run(10), Run(10));
        Assert.NotEqual(Run(10), Run(11));
    }
}
