namespace LmExplore.Evaluation;

/// <summary>How a run's output was scored.</summary>
public enum EvaluationKind
{
    /// <summary>Computed exactly from the law of the output sampler (enumeration or dynamic programming).</summary>
    Exact,
    /// <summary>Estimated from draws, with a 95 % interval.</summary>
    MonteCarlo,
    /// <summary>Not evaluated (a run that failed).</summary>
    None,
}

/// <summary>The names <see cref="EvaluationKind"/> has in results files (<c>"evaluation"</c>).</summary>
public static class EvaluationKinds
{
    /// <summary><c>exact</c>, <c>monte_carlo</c> or <c>none</c>.</summary>
    public static string JsonName(this EvaluationKind kind) => kind switch
    {
        EvaluationKind.Exact => "exact",
        EvaluationKind.MonteCarlo => "monte_carlo",
        _ => "none",
    };

    /// <summary>The kind named <paramref name="name"/> in a results file.</summary>
    public static EvaluationKind Parse(string name) => name switch
    {
        "exact" => EvaluationKind.Exact,
        "monte_carlo" => EvaluationKind.MonteCarlo,
        "none" => EvaluationKind.None,
        _ => throw new System.Text.Json.JsonException($"unknown evaluation kind '{name}'"),
    };
}
