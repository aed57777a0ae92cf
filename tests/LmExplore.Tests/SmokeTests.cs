using LmExplore.Numerics;

namespace LmExplore.Tests;

public class RngTests
{
    [Fact]
    public void SameSeedSameStream_SplitIndependentOfConsumption()
    {
        var a = new Rng(42);
        var b = new Rng(42);
        for (int i = 0; i < 100; i++) Assert.Equal(a.NextUInt64(), b.NextUInt64());
        var fresh = new Rng(42).Split("child");
        Assert.Equal(fresh.NextUInt64(), a.Split("child").NextUInt64());
        Assert.NotEqual(new Rng(42).Split(1).NextUInt64(), new Rng(42).Split(2).NextUInt64());
    }
}
