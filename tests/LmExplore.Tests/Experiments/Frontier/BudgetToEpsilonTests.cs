using LmExplore.Experiments.Frontier;

namespace LmExplore.Tests.Experiments.Frontier;

public sealed class BudgetToEpsilonTests
{
    [Theory]
    [InlineData(0.1, 10, 9)]
    [InlineData(0.1, 5, 5)]
    [InlineData(0.1, 3, 3)]
    [InlineData(0.5, 3, 2)]
    [InlineData(0.0, 7, 7)]
    [InlineData(0.2, 10, 8)]
    public void RequiredSuccesses_IsTheCeilingOfOneMinusDeltaTimesRuns(double delta, int runs, int required) =>
        Assert.Equal(required, BudgetToEpsilon.RequiredSuccesses(delta, runs));

    [Fact]
    public void FirstSuccess_StopsAtTheFirstBudgetThatSucceeds_AndMeasuresNothingAbove()
    {
        int measured = 0;
        var levels = new[] { (3, 10), (8, 10), (9, 10), (10, 10), (4, 10) };
        IEnumerable<(int, int)> Lazily() { foreach (var l in levels) { measured++; yield return l; } }
        Assert.Equal(2, BudgetToEpsilon.FirstSuccess(Lazily(), 0.1));
        Assert.Equal(3, measured);
        Assert.Null(BudgetToEpsilon.FirstSuccess([(1, 10), (8, 10)], 0.1));
    }
}
