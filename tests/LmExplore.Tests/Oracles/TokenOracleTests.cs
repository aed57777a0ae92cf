using LmExplore.Algorithms;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Oracles;

/// <summary>The token oracle charges exactly what is asked of it, refuses foreign handles, and the token-level
/// sampler draws what its exact law says.</summary>
public class TokenOracleTests
{
    private static AutoregressiveInstance Chain(int horizon) =>
        ChainFamily.Create(new Dictionary<string, string> { ["horizon"] = horizon.ToString() }, 1);

    [Theory]
    [InlineData(false, null, null)]
    [InlineData(true, null, null)]
    [InlineData(false, 20_000L, null)]     // runs out of tokens
    [InlineData(true, null, 50L)]          // runs out of data
    public void MeterChargesExactlyTheTokensMtssAskedFor(bool distributions, long? budgetTokens, long? budgetData)
    {
        var inst = Chain(4);
        var meter = new Meter(budgetData, null, budgetTokens);
        var env = new TokenFixtures.CountingTokenEnvironment(new AutoregressiveTokenEnvironment(inst, meter, new Rng(1), distributions));
        var mtss = new Mtss(new Dictionary<string, string> { ["next-token-distributions"] = distributions ? "true" : "false", ["exploration-rounds"] = "40" });
        var output = mtss.Run(env, new Rng(2), null, CancellationToken.None);
        Assert.True(env.Tokens > 0);
        Assert.Equal(env.Tokens, meter.TTokens);
        Assert.Equal(env.Queries, meter.TData);
        Assert.Equal(0, meter.TComp);
        if (budgetTokens is long t) { Assert.True(meter.TTokens <= t); Assert.Equal(RunStatus.BudgetExhausted, output.Status); }
        if (budgetData is long b) { Assert.True(meter.TData <= b); Assert.Equal(RunStatus.BudgetExhausted, output.Status); }

        // Draws from the output report exactly the calls a fresh oracle charged, and charge no rewards.
        var fresh = new Meter();
        var freshEnv = new TokenFixtures.CountingTokenEnvironment(new AutoregressiveTokenEnvironment(inst, fresh, new Rng(3), distributions));
        var rng = new Rng(4);
        var tokens = new int[inst.Horizon];
        long reported = 0;
        for (int i = 0; i < 30; i++) reported += output.Policy.Sample(freshEnv, freshEnv.DrawPrompt(rng), rng, tokens);
        Assert.Equal(reported, fresh.TTokens);
        Assert.Equal(freshEnv.Tokens, fresh.TTokens);
        Assert.Equal(0, fresh.TData);
    }

    [Fact]
    public void SequenceLevelView_ChargesHTokensPerSample()
    {
        var inst = Chain(5);
        var meter = new Meter();
        var env = new SequenceLevelEnvironment(new EnumerableEnvironment(inst.ToEnumerable(), meter, new Rng(1)), inst.Horizon);
        var x = env.DrawPrompt(new Rng(2));
        for (int i = 0; i < 7; i++) env.Sample(x, new Rng((ulong)i));
        Assert.Equal(7, meter.TComp);
        Assert.Equal(35, meter.TTokens);
        env.Enumerate(x);
        Assert.Equal(35 + 5L * 243, meter.TTokens);
    }

    [Fact]
    public void ForeignAndIncompleteHandles_AreRefused()
    {
        var inst = Chain(3);
        var a = new AutoregressiveTokenEnvironment(inst, new Meter(), new Rng(1));
        var b = new AutoregressiveTokenEnvironment(inst, new Meter(), new Rng(1));
        var rng = new Rng(2);
        var prefix = a.Start(a.DrawPrompt(rng));
        Assert.Throws<ForeignHandleException>(() => b.Next(prefix, rng));
        Assert.Throws<ForeignHandleException>(() => a.Next(default, rng));
        Assert.Throws<ForeignHandleException>(() => a.Start(default));
        var token = a.Next(prefix, rng);
        Assert.Throws<ForeignHandleException>(() => b.Features(token));
        Assert.Throws<InvalidOperationException>(() => a.Query(a.Append(token)));      // not complete: no reward
        Assert.Throws<NotSupportedException>(() => a.NextDistribution(prefix, new Token[inst.Vocab]));
        Assert.Equal(1, a.Meter.TTokens);
        Assert.Equal(0, a.Meter.TData);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedSampler_DrawsItsExactLaw(bool distributions)
    {
        // Whole responses of a small instance (3^3 = 27), drawn through the oracle, against the law by DP rows.
        var inst = TokenFixtures.Random(3, 3, 2, 2, 0.4, 11);
        int D = TokenFeatures.Dimension(inst);
        var policy = new TruncatedTokenPolicy(inst.Horizon, D, inst.Beta, 0.6, distributions);
        var thetas = TokenFixtures.RandomThetas(inst, 5, 0.8);
        var sigmaInverse = new double[D * D];
        for (int i = 0; i < D; i++) sigmaInverse[i * D + i] = 1 + i;
        for (int h = 1; h <= inst.Horizon; h++) policy.SetLayer(h, thetas[h - 1], sigmaInverse, new TokenSamplerSize(2, 3));
        var law = policy.Law(inst);
        var env = new AutoregressiveTokenEnvironment(inst, new Meter(), new Rng(1), distributions);
        int n = 27;
        var expected = new double[inst.Prompts.Count * n];
        for (int x = 0; x < inst.Prompts.Count; x++)
        {
            int y = 0;
            foreach (var e in TokenFixtures.Enumerate(inst, law.LogProbs, x)) expected[x * n + y++] = inst.Prompts[x].Weight * Math.Exp(e.LogP);
        }
        var counts = new long[expected.Length];
        var rng = new Rng(9);
        var tokens = new int[inst.Horizon];
        long calls = 0;
        const int draws = 60_000;
        for (int i = 0; i < draws; i++)
        {
            var x = env.DrawPrompt(rng);
            calls += policy.Sample(env, x, rng, tokens);
            counts[x.Index * n + tokens[0] * 9 + tokens[1] * 3 + tokens[2]]++;
        }
        Stats.AssertFits(counts, expected, $"truncated token sampler (distributions = {distributions})");
        double cost = TokenPolicyEvaluator.Evaluate(inst, law).ExpectedCalls;
        Assert.InRange((double)calls / draws / cost, 0.98, 1.02);
    }
}
