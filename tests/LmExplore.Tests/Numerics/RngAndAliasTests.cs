using LmExplore.Numerics;

namespace LmExplore.Tests.Numerics;

/// <summary>The seeded splittable RNG and the alias table. Distributional checks are χ² tests at the 10⁻⁶ level
/// (<see cref="Stats.ChiSquareCritical"/>) or 5-standard-deviation bounds, with fixed seeds.</summary>
public class RngAndAliasTests
{
    [Fact]
    public void SameSeedGivesSameStreamAndOtherSeedsDiffer()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        var c = new Rng(43);
        int same = 0;
        for (int i = 0; i < 1000; i++)
        {
            ulong va = a.NextUInt64();
            Assert.Equal(va, b.NextUInt64());
            if (va == c.NextUInt64()) same++;
        }
        Assert.Equal(0, same);
        Assert.Equal(42UL, a.Seed);
    }

    [Fact]
    public void SplitDependsOnlyOnSeedAndKeyNotOnConsumption()
    {
        var parent = new Rng(7);
        var before = parent.Split("phase1");
        var beforeNumeric = parent.Split(3UL);
        for (int i = 0; i < 12345; i++) parent.NextUInt64();
        var after = parent.Split("phase1");
        var afterNumeric = parent.Split(3UL);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(before.NextUInt64(), after.NextUInt64());
            Assert.Equal(beforeNumeric.NextUInt64(), afterNumeric.NextUInt64());
        }
        // Different keys, different parents and the parent itself give different streams.
        var streams = new[] { new Rng(7).Split("phase1"), new Rng(7).Split("phase2"), new Rng(8).Split("phase1"), new Rng(7), new Rng(7).Split(1UL), new Rng(7).Split(2UL), new Rng(7).Split("phase1").Split("phase1") };
        var firsts = streams.Select(r => r.NextUInt64()).ToArray();
        Assert.Equal(firsts.Length, firsts.Distinct().Count());
        // Children of the same parent are uncorrelated: the sign agreement of 10⁵ paired uniforms is ≈ 1/2.
        var x = new Rng(9).Split(1UL);
        var y = new Rng(9).Split(2UL);
        int agree = 0;
        const int n = 100_000;
        for (int i = 0; i < n; i++) if ((x.NextDouble() < 0.5) == (y.NextDouble() < 0.5)) agree++;
        Assert.InRange(agree, n / 2 - 5 * Math.Sqrt(n) / 2, n / 2 + 5 * Math.Sqrt(n) / 2);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(1000)]
    public void NextIntIsUnbiased(int n)
    {
        var rng = new Rng(1000 + (ulong)n);
        var counts = new long[n];
        const int draws = 1_000_000;
        for (int i = 0; i < draws; i++) counts[rng.NextInt(n)]++;
        Stats.AssertFits(counts, Enumerable.Repeat(1.0 / n, n).ToArray(), $"NextInt({n})");
    }

    [Fact]
    public void NextIntHasNoModuloBiasForHugeRanges()
    {
        // n = 1.5·10⁹: 'x mod n' on 32 bits would put 3/2 times as much mass on [0, 1.29·10⁹) as above it.
        const int n = 1_500_000_000;
        var rng = new Rng(77);
        var counts = new long[10];
        const int draws = 1_000_000;
        for (int i = 0; i < draws; i++)
        {
            int v = rng.NextInt(n);
            if ((uint)v >= n) Assert.Fail($"NextInt({n}) returned {v}");
            counts[(int)((long)v * 10 / n)]++;
        }
        Stats.AssertFits(counts, Enumerable.Repeat(0.1, 10).ToArray(), "NextInt(1.5e9) deciles");
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0));
    }

    [Fact]
    public void UniformsAndGaussianHaveTheRightMoments()
    {
        var rng = new Rng(2024);
        const int n = 1_000_000;
        double s1 = 0, s2 = 0, s3 = 0, s4 = 0, u = 0;
        long tail = 0;
        double minD = 1, maxD = 0, minO = 1, maxO = 0;
        for (int i = 0; i < n; i++)
        {
            double d = rng.NextDouble();
            double o = rng.NextDoubleOpenZero();
            minD = Math.Min(minD, d); maxD = Math.Max(maxD, d);
            minO = Math.Min(minO, o); maxO = Math.Max(maxO, o);
            u += d;
            double z = rng.NextGaussian();
            s1 += z; s2 += z * z; s3 += z * z * z; s4 += z * z * z * z;
            if (Math.Abs(z) > 3) tail++;
        }
        Assert.True(minD >= 0 && maxD < 1 && minO > 0 && maxO <= 1);
        Assert.True(double.IsFinite(s4));
        // 5-standard-error bounds: mean ±5/√n, E z² ±5√(2/n), E z³ ±5√(15/n), E z⁴ = 3 ±5√(96/n).
        Assert.InRange(u / n, 0.5 - 5 * Math.Sqrt(1.0 / 12 / n), 0.5 + 5 * Math.Sqrt(1.0 / 12 / n));
        Assert.InRange(s1 / n, -5 / Math.Sqrt(n), 5 / Math.Sqrt(n));
        Assert.InRange(s2 / n, 1 - 5 * Math.Sqrt(2.0 / n), 1 + 5 * Math.Sqrt(2.0 / n));
        Assert.InRange(s3 / n, -5 * Math.Sqrt(15.0 / n), 5 * Math.Sqrt(15.0 / n));
        Assert.InRange(s4 / n, 3 - 5 * Math.Sqrt(96.0 / n), 3 + 5 * Math.Sqrt(96.0 / n));
        // P(|Z| > 3) = 0.0026998.
        double p = 0.0026998;
        Assert.InRange(tail, n * p - 5 * Math.Sqrt(n * p), n * p + 5 * Math.Sqrt(n * p));
    }

    [Fact]
    public void AliasTableMatchesAHeavyTailedDistributionIncludingASmallMass()
    {
        var rng = new Rng(5);
        // 49 Zipf-like categories plus one of mass 1e-4.
        var logW = new double[50];
        for (int i = 0; i < 49; i++) logW[i] = -1.2 * Math.Log(i + 1);
        double rest = LogMath.LogSumExp(logW.AsSpan(0, 49));
        for (int i = 0; i < 49; i++) logW[i] += Math.Log(1 - 1e-4) - rest;
        logW[49] = Math.Log(1e-4);
        var perm = TestInstances.Permutation(rng, 50);
        var shuffled = new double[50];
        for (int i = 0; i < 50; i++) shuffled[perm[i]] = logW[i];
        var probs = Stats.Softmax(shuffled);
        var table = new AliasTable(shuffled);
        Assert.Equal(50, table.Count);
        var counts = new long[50];
        const int draws = 2_000_000;
        for (int i = 0; i < draws; i++) counts[table.Sample(rng)]++;
        Stats.AssertFits(counts, probs, "alias table (heavy tail)");
        // The 1e-4 category: Binomial(2·10⁶, 10⁻⁴) has mean 200 and sd 14.1; within 5 sd.
        long small = counts[perm[49]];
        Assert.InRange(small, 200 - 5 * 14.14, 200 + 5 * 14.14);
    }

    [Fact]
    public void AliasTableOnALargeZipfSupport()
    {
        var rng = new Rng(6);
        var logW = TestInstances.RefLogProbs(rng, 100_000, RefShape.Zipf);
        var table = new AliasTable(logW);
        var counts = new long[logW.Length];
        for (int i = 0; i < 3_000_000; i++) counts[table.Sample(rng)]++;
        Stats.AssertFits(counts, Stats.Softmax(logW), "alias table (10^5 Zipf categories)");
    }

    [Fact]
    public void AliasTableHandlesZeroAndExtremeWeights()
    {
        // −∞ (zero weight) is never drawn; e^{−740} (subnormal) and unnormalized offsets of 10⁴ are fine.
        double[] logW = [1e4, double.NegativeInfinity, 1e4 - 740, 1e4 - Math.Log(3), double.NegativeInfinity];
        var table = new AliasTable(logW);
        var rng = new Rng(8);
        var counts = new long[logW.Length];
        for (int i = 0; i < 1_000_000; i++) counts[table.Sample(rng)]++;
        Assert.Equal(0, counts[1]);
        Assert.Equal(0, counts[4]);
        Assert.Equal(0, counts[2]); // mass e^{−740}: 10⁶ draws cannot see it
        Stats.AssertFits([counts[0], counts[3]], [0.75, 0.25], "alias table (extreme weights)");
        // A shift of every log-weight changes nothing: the same stream gives the same draws.
        var shifted = new AliasTable(logW.Select(v => v - 1e4).ToArray());
        var r1 = new Rng(9);
        var r2 = new Rng(9);
        for (int i = 0; i < 1000; i++) Assert.Equal(table.Sample(r1), shifted.Sample(r2));
        var single = new AliasTable([0.3]);
        for (int i = 0; i < 100; i++) Assert.Equal(0, single.Sample(rng));
        Assert.Throws<ArgumentException>(() => new AliasTable(ReadOnlySpan<double>.Empty));
        Assert.Throws<ArgumentException>(() => new AliasTable([double.NegativeInfinity, double.NegativeInfinity]));
        Assert.Throws<ArgumentException>(() => new AliasTable([0.0, double.NaN]));
        Assert.Throws<ArgumentException>(() => new AliasTable([0.0, double.PositiveInfinity]));
    }

    [Fact]
    public void LogMathIsStable()
    {
        Assert.Equal(1e6 + Math.Log(2), LogMath.LogSumExp([1e6, 1e6]), 9);
        Assert.Equal(-1e6 + Math.Log(3), LogMath.LogSumExp([-1e6, -1e6, -1e6]), 9);
        Assert.Equal(double.NegativeInfinity, LogMath.LogSumExp([]));
        Assert.Equal(double.NegativeInfinity, LogMath.LogSumExp([double.NegativeInfinity, double.NegativeInfinity]));
        Assert.Equal(5.0, LogMath.LogAddExp(5.0, double.NegativeInfinity));
        Assert.Equal(1e5 + Math.Log(1 + Math.Exp(-1)), LogMath.LogAddExp(1e5 - 1, 1e5), 9);
        var rng = new Rng(10);
        var v = Enumerable.Range(0, 1000).Select(_ => 1e5 * rng.NextGaussian()).ToArray();
        var acc = new LogMath.Accumulator();
        foreach (double t in v) acc.Add(t);
        Assert.Equal(LogMath.LogSumExp(v), acc.Value, 9);
        Assert.Equal(double.NegativeInfinity, new LogMath.Accumulator().Value);
    }
}
