namespace LmExplore.Tests.Support;

/// <summary>A fact that runs only when LMEXPLORE_SLOW=1 (the default suite must stay fast). Pair it with
/// <c>[Trait("Category", "Slow")]</c> so that <c>--filter Category=Slow</c> selects it.</summary>
public sealed class SlowFactAttribute : FactAttribute
{
    public SlowFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("LMEXPLORE_SLOW") != "1") Skip = "slow: set LMEXPLORE_SLOW=1 to run";
    }
}

/// <summary>A theory that runs only when LMEXPLORE_SLOW=1 (see <see cref="SlowFactAttribute"/>).</summary>
public sealed class SlowTheoryAttribute : TheoryAttribute
{
    public SlowTheoryAttribute()
    {
        if (Environment.GetEnvironmentVariable("LMEXPLORE_SLOW") != "1") Skip = "slow: set LMEXPLORE_SLOW=1 to run";
    }
}
