namespace LmExplore.Oracles;

/// <summary>
/// Counts oracle calls — T_data (reward queries), T_comp (sequence samples from π_ref) and
/// T_tokens (token-level calls) — and enforces budgets. Every oracle charges the meter *before*
/// answering, so a budget can never be exceeded: the call that would exceed it throws
/// <see cref="BudgetExhaustedException"/>, which algorithm runners catch and turn into the
/// status <c>budget_exhausted</c>.
/// </summary>
public sealed class Meter
{
    /// <summary>Creates a meter; a null budget means unlimited.</summary>
    public Meter(long? budgetData = null, long? budgetComp = null, long? budgetTokens = null)
    {
        if (budgetData is < 0) throw new ArgumentOutOfRangeException(nameof(budgetData), "budget must be ≥ 0");
        if (budgetComp is < 0) throw new ArgumentOutOfRangeException(nameof(budgetComp), "budget must be ≥ 0");
        if (budgetTokens is < 0) throw new ArgumentOutOfRangeException(nameof(budgetTokens), "budget must be ≥ 0");
        BudgetData = budgetData;
        BudgetComp = budgetComp;
        BudgetTokens = budgetTokens;
    }

    /// <summary>Reward queries so far.</summary>
    public long TData { get; private set; }
    /// <summary>Sequence samples (sampling-oracle calls) so far, including enumeration charges.</summary>
    public long TComp { get; private set; }
    /// <summary>Token-level oracle calls so far.</summary>
    public long TTokens { get; private set; }

    /// <summary>Reward-query budget, or null.</summary>
    public long? BudgetData { get; }
    /// <summary>Sampling-oracle budget, or null.</summary>
    public long? BudgetComp { get; }
    /// <summary>Token budget, or null.</summary>
    public long? BudgetTokens { get; }

    /// <summary>Reward queries still allowed (long.MaxValue when unlimited).</summary>
    public long RemainingData => BudgetData is long b ? b - TData : long.MaxValue;
    /// <summary>Sampling-oracle calls still allowed (long.MaxValue when unlimited).</summary>
    public long RemainingComp => BudgetComp is long b ? b - TComp : long.MaxValue;
    /// <summary>Token calls still allowed (long.MaxValue when unlimited).</summary>
    public long RemainingTokens => BudgetTokens is long b ? b - TTokens : long.MaxValue;

    /// <summary>Charges <paramref name="n"/> reward queries or throws if that would exceed the budget.</summary>
    public void ChargeData(long n = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (n > RemainingData) throw new BudgetExhaustedException(BudgetKind.Data);
        TData += n;
    }

    /// <summary>Charges <paramref name="n"/> sequence samples or throws if that would exceed the budget.</summary>
    public void ChargeComp(long n = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (n > RemainingComp) throw new BudgetExhaustedException(BudgetKind.Comp);
        TComp += n;
    }

    /// <summary>Charges <paramref name="n"/> token calls or throws if that would exceed the budget.</summary>
    public void ChargeTokens(long n = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (n > RemainingTokens) throw new BudgetExhaustedException(BudgetKind.Tokens);
        TTokens += n;
    }
}

/// <summary>Which budget ran out.</summary>
public enum BudgetKind
{
    /// <summary>Reward queries (T_data).</summary>
    Data,
    /// <summary>Sequence samples (T_comp).</summary>
    Comp,
    /// <summary>Token calls (T_tokens).</summary>
    Tokens,
}

/// <summary>Thrown by a metered oracle when a call would exceed its budget. Never escapes a runner.</summary>
public sealed class BudgetExhaustedException(BudgetKind kind)
    : Exception($"{kind} budget exhausted")
{
    /// <summary>The budget that ran out.</summary>
    public BudgetKind Kind { get; } = kind;
}
