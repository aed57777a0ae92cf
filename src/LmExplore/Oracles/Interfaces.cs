using LmExplore.Numerics;

namespace LmExplore.Oracles;

/// <summary>
/// Everything a learning algorithm may touch: prompts x ~ ρ, the sampling oracle (T_comp), the reward oracle
/// (T_data) and the feature map — the last two only through <see cref="Response"/> handles the sampling oracle
/// issued. Algorithms are written against this interface alone, so the same code runs on an enumerable
/// instance, an autoregressive model or a language model; every call that the framework charges is charged
/// to <see cref="Meter"/> before it is answered.
/// </summary>
public interface ILearnerEnvironment
{
    /// <summary>The meter every call is charged to.</summary>
    Meter Meter { get; }

    /// <summary>β (known to the learner).</summary>
    double Beta { get; }

    /// <summary>Feature dimension d.</summary>
    int Dimension { get; }

    /// <summary>Draws a prompt x ~ ρ (free).</summary>
    Prompt DrawPrompt(Rng rng);

    /// <summary>Draws y ~ π_ref(·|x) (one T_comp), returned with log π_ref(y|x).</summary>
    Response Sample(Prompt prompt, Rng rng);

    /// <summary>Draws <c>destination.Length</c> responses y ~ π_ref(·|x) at once (one T_comp each, charged before any is
    /// drawn: when the budget cannot pay them all, none is drawn and <see cref="BudgetExhaustedException"/> is thrown).
    /// Same law and the same random stream as that many <see cref="Sample"/> calls; it exists so that hot loops pay the
    /// interface, check and meter once per block instead of once per draw.</summary>
    void SampleMany(Prompt prompt, Rng rng, Span<Response> destination)
    {
        if (destination.Length > Meter.RemainingComp) throw new BudgetExhaustedException(BudgetKind.Comp);
        for (int i = 0; i < destination.Length; i++) destination[i] = Sample(prompt, rng);
    }

    /// <summary>φ(x,y) of an issued response (free). The span stays valid, unchanged, for the environment's lifetime.</summary>
    ReadOnlySpan<double> Features(Response response);

    /// <summary>A noisy reward r*(x,y) + ξ of an issued response (one T_data).</summary>
    double Query(Response response);

    /// <summary>Whether <see cref="Enumerate"/> is available (enumerable instances).</summary>
    bool CanEnumerate { get; }

    /// <summary>Every response of Y(x), charged |Y(x)| to T_comp as enumerating Y requires.
    /// Throws <see cref="NotSupportedException"/> where Y cannot be enumerated.</summary>
    Response[] Enumerate(Prompt prompt);
}

/// <summary>An environment whose prompts form a finite, known list (text tasks): what best-of-N iterates over.</summary>
public interface IPromptSet
{
    /// <summary>Number of prompts.</summary>
    int PromptCount { get; }
    /// <summary>The i-th prompt, issued to the caller (free, like <see cref="ILearnerEnvironment.DrawPrompt"/>).</summary>
    Prompt PromptAt(int index);
}
