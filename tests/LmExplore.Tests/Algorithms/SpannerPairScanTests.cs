using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Algorithms;

/// <summary>Phase 1's blocked candidate-pair scan: every draw is charged, nothing paid for is lost beyond the bounded
/// spare, the informative pair is the one reported, and the budget and streak limits hold.</summary>
public class SpannerPairScanTests
{
    [Fact]
    public void Scan_ChargesEveryDraw_ReportsTheInformativePair_AndKeepsAtMost15UntestedPairsPerPrompt()
    {
        var instance = InstanceCatalog.Create("linear", new Dictionary<string, string> { ["prompts"] = "3", ["responses"] = "60", ["d"] = "4" }, 5);
        var meter = new Meter();
        var env = new EnumerableEnvironment(instance, meter, new Rng(1));
        var scan = new SpannerPairScan(4);
        var sigma = new EllipticNorm(4, 0.1);
        var rng = new Rng(2);
        long tested = 0, drawn = 0, informative = 0;
        for (int i = 0; i < 400; i++)
        {
            var x = env.DrawPrompt(rng);
            double nuSquared = 4 * rng.NextDouble();
            long maxTested = 1 + rng.NextInt(40), maxDrawn = rng.NextInt(40);
            var r = scan.Scan(env, x, rng, sigma, nuSquared, maxTested, maxDrawn);
            Assert.InRange(r.PairsTested, 0, maxTested);
            Assert.InRange(r.PairsDrawn, 0, maxDrawn);
            tested += r.PairsTested;
            drawn += r.PairsDrawn;
            if (!r.Informative) continue;
            informative++;
            Assert.True(r.NormSquared > nuSquared);
            Assert.Equal(x.Index, r.Y1.PromptIndex);
            var a = env.Features(r.Y1);
            var b = env.Features(r.Y2);
            for (int k = 0; k < 4; k++) Assert.Equal(a[k] - b[k], scan.FoundFeature[k]);
            Assert.Equal(sigma.NormSquared(scan.FoundFeature), r.NormSquared, 1e-9);
            if (rng.NextDouble() < 0.3) sigma.Add(scan.FoundFeature);
        }
        Assert.True(informative > 20, $"only {informative} informative pairs: the test exercises too little");
        Assert.Equal(2 * drawn, meter.TComp);
        Assert.InRange(drawn - tested, 0, 15 * instance.Prompts.Count);
    }
}
