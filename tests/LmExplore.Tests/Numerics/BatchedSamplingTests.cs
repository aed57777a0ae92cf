using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Numerics;

/// <summary>The batched draws behind Phase 1's pair scan change no result: <see cref="AliasTable.SampleMany"/> gives
/// the categories, and leaves the generator where, that one <see cref="AliasTable.Sample"/> per draw would;
/// <see cref="EnumerableEnvironment.SampleMany"/> the same responses and charge; <see cref="SampleLog.AddMany"/> the
/// same records as one <see cref="SampleLog.Add"/> per sample.</summary>
public class BatchedSamplingTests
{
    [Theory]
    [InlineData(1, 20_000)]
    [InlineData(2, 20_000)]
    [InlineData(7, 20_000)]
    [InlineData(2000, 100_000)]
    // n = 10⁶: a column word needs Lemire's rejection with probability n/2^32 ≈ 2.3·10⁻⁴, so these 400 000 draws
    // rewind and replay about 90 chunks.
    [InlineData(1_000_000, 400_000)]
    public void AliasSampleManyEqualsOneSamplePerDraw(int n, int draws)
    {
        var shape = new Rng((ulong)n);
        var table = new AliasTable(TestInstances.RefLogProbs(shape, n, RefShape.Zipf));
        var batched = new Rng(17);
        var single = new Rng(17);
        var lengths = new Rng(18);
        var buffer = new int[300];
        int done = 0;
        while (done < draws)
        {
            int length = Math.Min(1 + lengths.NextInt(buffer.Length), draws - done);
            table.SampleMany(batched, buffer.AsSpan(0, length));
            for (int i = 0; i < length; i++) Assert.Equal(table.Sample(single), buffer[i]);
            done += length;
        }
        Assert.Equal(single.NextUInt64(), batched.NextUInt64());
        if (n == 1_000_000)
        {
            // The rejection path was exercised: count the column words that needed it in a stream of this length.
            var words = new Rng(17);
            int rejections = 0;
            for (int i = 0; i < draws; i++) if ((uint)((words.NextUInt64() >> 32) * (ulong)n) < (uint)n) rejections++;
            Assert.InRange(rejections, 30, 200);
        }
    }

    [Fact]
    public void AliasLookUpRefusesWordsThatNeedMoreOfTheStream()
    {
        var table = new AliasTable(TestInstances.RefLogProbs(new Rng(3), 50, RefShape.Zipf));
        int column = Enumerable.Range(0, 50).First(c => table.Threshold(c) is > 0 and < 1 && table.Threshold(c) * 4294967296.0 % 1 != 0);
        // The column word: the smallest high half mapping to the column, past Lemire's rejection zone.
        ulong hi = ((ulong)column << 32) / 50 + 1;
        while ((int)((hi * 50) >> 32) != column || (uint)(hi * 50) < 50) hi++;
        ulong coinUndecided = (hi << 32) | (ulong)Math.Floor(table.Threshold(column) * 4294967296.0);
        ulong decided = (hi << 32) | 0UL;                   // u = 0 < p: heads
        ulong rejected = 0;                                  // high half 0: (0·n) mod 2^32 = 0 < n
        var y = new int[5];
        Assert.True(table.LookUp([decided, decided, decided, decided, decided], y));
        Assert.All(y, c => Assert.Equal(column, c));
        foreach (var rare in new[] { coinUndecided, rejected })
            for (int at = 0; at < 5; at++)                      // in the vector part (0–3) and in the scalar tail (4)
            {
                ulong[] words = [decided, decided, decided, decided, decided];
                words[at] = rare;
                Assert.False(table.LookUp(words, y));
            }
    }

    [Fact]
    public void EnvironmentSampleManyEqualsOneSamplePerResponse()
    {
        var instance = InstanceCatalog.Create("linear", new Dictionary<string, string> { ["prompts"] = "3", ["responses"] = "500", ["d"] = "4" }, 5);
        var meterA = new Meter();
        var meterB = new Meter();
        var a = new EnumerableEnvironment(instance, meterA, new Rng(1));
        var b = new EnumerableEnvironment(instance, meterB, new Rng(1));
        var rngA = new Rng(2);
        var rngB = new Rng(2);
        var buffer = new Response[200];
        for (int round = 0; round < 200; round++)
        {
            var xa = a.DrawPrompt(rngA);
            var xb = b.DrawPrompt(rngB);
            int length = 1 + rngA.NextInt(buffer.Length);
            rngB.NextInt(buffer.Length);
            a.SampleMany(xa, rngA, buffer.AsSpan(0, length));
            for (int i = 0; i < length; i++)
            {
                var y = b.Sample(xb, rngB);
                Assert.Equal((y.PromptIndex, y.Index, y.LogRefProb), (buffer[i].PromptIndex, buffer[i].Index, buffer[i].LogRefProb));
                Assert.Equal(b.Features(y).ToArray(), a.Features(buffer[i]).ToArray());
            }
        }
        Assert.Equal(meterB.TComp, meterA.TComp);
    }

    [Fact]
    public void SampleLogAddManyKeepsTheRecordsOfOneAddPerSample()
    {
        var batched = new SampleLog();
        var single = new SampleLog();
        var rng = new Rng(4);
        var block = new Response[100];
        long total = 0;
        // Past four compactions: the stride goes 1, 2, 4, 8, 16.
        while (total < 5L * SampleLog.Capacity)
        {
            int length = rng.NextInt(block.Length + 1);
            for (int i = 0; i < length; i++) block[i] = new Response(0, (int)((total + i) % int.MaxValue), 1, 0);
            batched.AddMany(block.AsSpan(0, length));
            for (int i = 0; i < length; i++) single.Add(block[i]);
            total += length;
        }
        Assert.Equal(single.Records.Select(y => y.Index), batched.Records.Select(y => y.Index));
        Assert.True(single.Records.Count > SampleLog.Capacity / 2);
    }
}
