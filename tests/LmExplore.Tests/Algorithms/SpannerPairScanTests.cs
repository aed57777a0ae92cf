using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Algorithms;

/// <summary>Phase 1's blocked candidate-pair scan: every draw is charged, nothing paid for is lost beyond the bounded
/// spare, the informative pair is the one reported, and the budget and streak limits hold.</summary>
public class SpannerPairScanTests
{
    // Every path of the coordinate-major copy: 8 × 8 transposes (8, 16), a 4 × 4 transpose (4, 6, 12, 13), single
    // coordinates (3, 6, 13, 19) and their mixtures.
    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(8)]
    [InlineData(12)]
    [InlineData(13)]
    [InlineData(16)]
    [InlineData(19)]
    public void Scan_ChargesEveryDraw_ReportsTheInformativePair_AndKeepsAtMost15UntestedPairsPerPrompt(int d)
    {
        var instance = InstanceCatalog.Create("linear", new Dictionary<string, string> { ["prompts"] = "3", ["responses"] = "60", ["d"] = $"{d}" }, 5);
        var meter = new Meter();
        var env = new EnumerableEnvironment(instance, meter, new Rng(1));
        var log = new SampleLog();
        var scan = new SpannerPairScan(d, log);
        var sigma = new EllipticNorm(d, 0.1);
        var rng = new Rng(2);
        long tested = 0, drawn = 0, informative = 0;
        for (int i = 0; i < 400; i++)
        {
            var x = env.DrawPrompt(rng);
            // ν² around a typical pair's norm, so that the informative pair falls anywhere in a block.
            var v = new double[d];
            var f1 = env.Features(env.Sample(x, rng));
            var f2 = env.Features(env.Sample(x, rng));
            for (int k = 0; k < d; k++) v[k] = f1[k] - f2[k];
            double nuSquared = 2 * rng.NextDouble() * sigma.NormSquared(v);
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
            for (int k = 0; k < d; k++) Assert.Equal(a[k] - b[k], scan.FoundFeature[k]);
            Assert.Equal(sigma.NormSquared(scan.FoundFeature), r.NormSquared);   // the one quadratic form, bit for bit
            if (rng.NextDouble() < 0.3) sigma.Add(scan.FoundFeature);
        }
        Assert.True(informative > 20, $"only {informative} informative pairs: the test exercises too little");
        Assert.Equal(2 * drawn + 2 * 400, meter.TComp);   // the scans' draws and the two per iteration that set ν²
        Assert.Equal(Math.Min(2 * drawn, SampleLog.Capacity), log.Records.Count); // every scan draw recorded (unthinned here)
        Assert.InRange(drawn - tested, 0, 15 * instance.Prompts.Count);
    }
}
