using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Oracles;

/// <summary>
/// T_comp is what the algorithm really asked for: a test-side environment counts its own sampling calls (and the
/// sizes of enumerations) while forwarding to an <see cref="EnumerableEnvironment"/>, and the meter must agree
/// with that count exactly — for the algorithms' runs and for draws from their outputs.
/// </summary>
public class CountingOracleTests
{
    public static TheoryData<string, string, long?, long?> Runs => new()
    {
        { "spanner", "", null, null },
        { "spanner", "", 40_000L, null },
        { "spanner", "", 3_000L, null },          // exhausts the compute budget in Phase 1
        { "spanner", "", null, 30L },             // exhausts the data budget
        { "passive", "", null, null },
        { "passive", "", null, 400L },
        { "passive", "pairs=50", 15L, null },     // exhausts the compute budget mid-pair
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void MeterChargesExactlyTheCallsTheAlgorithmMade(string algorithm, string algoParam, long? budgetComp, long? budgetData)
    {
        var instance = InstanceCatalog.Create("needle", PolicyFixtures.SmallNeedle(30), 5);
        var meter = new Meter(budgetData, budgetComp);
        var env = new CountingEnvironment(new EnumerableEnvironment(instance, meter, new Rng(1)));
        var parameters = new Dictionary<string, string> { ["epsilon"] = "0.02" };
        if (algoParam.Length > 0) parameters[algoParam.Split('=')[0]] = algoParam.Split('=')[1];
        var algo = AlgorithmRegistry.Create(algorithm, parameters);
        var output = algo.Run(env, new Rng(2), null, CancellationToken.None);
        Assert.True(env.Samples > 0);
        Assert.Equal(env.Samples + env.Enumerated, meter.TComp);
        Assert.Equal(env.Queries, meter.TData);
        if (budgetComp is long c) Assert.True(meter.TComp <= c);
        if (budgetData is long b) Assert.True(meter.TData <= b);

        // Draws from the output through a fresh environment are charged exactly the OracleCalls they report.
        var freshMeter = new Meter();
        var fresh = new CountingEnvironment(new EnumerableEnvironment(instance, freshMeter, new Rng(3)));
        var rng = new Rng(4);
        long reported = 0;
        for (int i = 0; i < 20; i++) reported += output.Policy.Sample(fresh, fresh.DrawPrompt(rng), rng).OracleCalls;
        Assert.Equal(reported, freshMeter.TComp);
        Assert.Equal(fresh.Samples + fresh.Enumerated, freshMeter.TComp);
        Assert.Equal(0, freshMeter.TData);
        Assert.Equal(0, meter.TComp - (env.Samples + env.Enumerated));   // nothing was charged to the run's meter
    }
}
