namespace LmExplore.Experiments.Frontier;

/// <summary>
/// The one definition of budget-to-ε, used by <c>frontier</c>, by the scans of sweeps and by the analyses of
/// <c>reproduce</c>: budgets are tried in increasing order; a budget succeeds when at least ⌈(1 − δ)·n⌉ of its n runs
/// reached ε; budget-to-ε is the first budget that succeeds, and the scan stops there — so the answer comes from the
/// runs, not from a window chosen around it.
/// </summary>
public static class BudgetToEpsilon
{
    /// <summary>⌈(1 − δ)·n⌉: the runs of one budget that must reach ε (the 1e-9 keeps 0.9·10 = 9, not 10, under rounding).</summary>
    public static int RequiredSuccesses(double delta, int runs) => (int)Math.Ceiling((1 - delta) * runs - 1e-9);

    /// <summary>Whether a budget at which <paramref name="reached"/> of <paramref name="runs"/> runs reached ε succeeds.</summary>
    public static bool Succeeds(int reached, int runs, double delta) => reached >= RequiredSuccesses(delta, runs);

    /// <summary>The index of the first budget that succeeds, or null. <paramref name="levels"/> are the budgets in
    /// increasing order as (reached, runs); it is enumerated lazily and not beyond the first success, so a scan that
    /// measures each level on demand runs nothing above its answer.</summary>
    public static int? FirstSuccess(IEnumerable<(int Reached, int Runs)> levels, double delta)
    {
        int index = 0;
        foreach (var (reached, runs) in levels)
        {
            if (Succeeds(reached, runs, delta)) return index;
            index++;
        }
        return null;
    }
}
