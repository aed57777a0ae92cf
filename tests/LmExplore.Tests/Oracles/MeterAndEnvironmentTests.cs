using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Oracles;

/// <summary>Metering and budgets (docs/CLI.md): what each oracle call costs, and that a budget is never exceeded.</summary>
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
    public void EnvironmentChargesWhatTheContractSays()
    {
        var inst = SmallInstance(NoiseModel.None);
        var meter = new Meter();
        var env = new EnumerableEnvironment(inst, meter, new Rng(1));
        var rng = new Rng(2);
        var x = env.DrawPrompt(rng);
        Assert.Equal((0L, 0L, 0L), (meter.TComp, meter.TData, meter.TTokens)); // drawing prompts is free
        var y = env.Sample(x, rng);
        Assert.Equal(1, meter.TComp);
        Assert.Equal(x.Index, y.PromptIndex);
        Assert.Equal(Math.Log(0.25), y.LogRefProb, 15);                        // log π_ref comes with the sample
        Assert.Equal(inst.Prompts[x.Index].Rewards[y.Index], env.Query(y));
        Assert.Equal(1, meter.TData);
        var all = env.Enumerate(x);
        Assert.Equal(1 + 4, meter.TComp);                                        // enumeration costs |Y(x)|
        Assert.Equal([0, 1, 2, 3], all.Select(r => r.Index));
        Assert.All(all, r => Assert.Equal(Math.Log(0.25), r.LogRefProb, 15));
        // Features are free.
        Assert.Equal(inst.Prompts[x.Index].FeatureRow(2)[0], env.Features(all[2])[0]);
        Assert.Equal(inst.Prompts[x.Index].FeatureRow(y.Index)[0], env.Features(y)[0]);
        Assert.Equal((5L, 1L), (meter.TComp, meter.TData));
        Assert.True(env.CanEnumerate);
    }

    [Fact]
    public void PromptsFollowRho()
    {
        var inst = SmallInstance(NoiseModel.None);
        var meter = new Meter();
        var env = new EnumerableEnvironment(inst, meter, new Rng(1));
        // Prompt 2 has ρ = 0: it is never drawn, so it can never be asked about.
        var rng = new Rng(3);
        var counts = new long[3];
        for (int i = 0; i < 100_000; i++) counts[env.DrawPrompt(rng).Index]++;
        Assert.Equal(0, counts[2]);
        Stats.AssertFits(counts.AsSpan(0, 2), [0.2, 0.8], "prompt distribution ρ");
        Assert.Equal((0L, 0L), (meter.TComp, meter.TData));
    }

    [Fact]
    public void OracleCallsBeyondTheBudgetThrowAndAreNotCounted()
    {
        var inst = SmallInstance(NoiseModel.None);
        var meter = new Meter(budgetData: 2, budgetComp: 5);
        var env = new EnumerableEnvironment(inst, meter, new Rng(1));
        var rng = new Rng(4);
        var x = env.DrawPrompt(rng);
        var all = env.Enumerate(x);                                // 4 of 5
        Assert.Throws<BudgetExhaustedException>(() => env.Enumerate(x));
        Assert.Equal(4, meter.TComp);
        env.Sample(x, rng);                                        // 5 of 5
        Assert.Throws<BudgetExhaustedException>(() => env.Sample(x, rng));
        Assert.Equal(5, meter.TComp);
        env.Query(all[0]);
        env.Query(all[1]);
        Assert.Equal(BudgetKind.Data, Assert.Throws<BudgetExhaustedException>(() => env.Query(all[2])).Kind);
        Assert.Equal(2, meter.TData);
    }

    [Fact]
    public void GaussianNoiseHasMeanRStarAndStandardDeviationSigma()
    {
        const double sigma = 0.3;
        var inst = SmallInstance(NoiseModel.Gaussian(sigma));
        var env = new EnumerableEnvironment(inst, new Meter(), new Rng(5));
        var rng = new Rng(6);
        var x = PolicyFixtures.Receive(env, 1, rng);
        var y = env.Enumerate(x)[2];
        const int n = 100_000;
        double r = inst.Prompts[1].Rewards[2];
        double s1 = 0, s2 = 0;
        for (int i = 0; i < n; i++) { double q = env.Query(y) - r; s1 += q; s2 += q * q; }
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
        var x = env.DrawPrompt(new Rng(8));
        var responses = env.Enumerate(x);
        const int n = 50_000;
        for (int y = 0; y < 4; y++)
        {
            double r = inst.Prompts[x.Index].Rewards[y];
            long ones = 0;
            for (int i = 0; i < n; i++)
            {
                double q = env.Query(responses[y]);
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
            var all = env.Enumerate(env.DrawPrompt(new Rng(9)));
            return Enumerable.Range(0, 20).Select(i => env.Query(all[i % 4])).ToArray();
        }
        Assert.Equal(Run(10), Run(10));
        Assert.NotEqual(Run(10), Run(11));
    }
}
