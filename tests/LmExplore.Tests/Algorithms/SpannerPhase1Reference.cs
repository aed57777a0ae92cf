using LmExplore.Algorithms;
using LmExplore.Experiments;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Tests.Algorithms;

/// <summary>Why Phase 1 ended: the codes SpannerSampling reports as <c>phase1_stop</c> (docs/ALGORITHMS.md, "Diagnostics").</summary>
public enum Phase1Stop
{
    /// <summary>A prompt's K_span candidate pairs all failed the test (anytime stopping).</summary>
    FailureStreak = 1,
    /// <summary>All T_span prompts were searched.</summary>
    SpannerPromptsDone = 2,
    /// <summary>Phase 1's compute share (or the compute budget) could not pay for another pair.</summary>
    ComputeShareSpent = 3,
    /// <summary>An informative pair was found but fewer than two reward queries remain: the run skips Phase 2 and
    /// outputs θ̂ from D.</summary>
    DataBudgetSpent = 4,
}

/// <summary>One element of the spanner: the pair, its rewards and its relative feature.</summary>
/// <param name="Y1">y1 ~ π_ref(·|x).</param>
/// <param name="Y2">y2 ~ π_ref(·|x).</param>
/// <param name="R1">The reward oracle's answer for y1.</param>
/// <param name="R2">The reward oracle's answer for y2.</param>
/// <param name="V">v = φ(x,y1) − φ(x,y2).</param>
/// <param name="NormSquared">‖v‖²_{Σ⁻¹} with Σ as it was when the pair was tested (&gt; ν²).</param>
internal sealed record SpannerElement(Response Y1, Response Y2, double R1, double R2, double[] V, double NormSquared);

/// <summary>Everything Phase 1 leaves behind: what Phase 2 and the output start from, and what the run reports.</summary>
internal sealed class Phase1Outcome
{
    /// <summary>Σ = λI + Σ_{v ∈ Ψ} v vᵀ, with Σ⁻¹ kept as SpannerSampling keeps it.</summary>
    public required EllipticNorm Sigma { get; init; }
    /// <summary>Ridge least squares on D (the spanner pairs and their reward differences).</summary>
    public required RidgeRegression Ridge { get; init; }
    /// <summary>The record of π_ref draws (and of the spanner's responses) the coverage estimate reads.</summary>
    public required SampleLog Log { get; init; }
    /// <summary>Ψ with D, in the order the pairs were found.</summary>
    public required IReadOnlyList<SpannerElement> Spanner { get; init; }
    /// <summary>The prompts x ~ ρ, in the order drawn.</summary>
    public required IReadOnlyList<Prompt> Prompts { get; init; }
    /// <summary>The size, in pairs, of every block of draws, in order (each block is paid for when drawn).</summary>
    public required IReadOnlyList<long> Blocks { get; init; }
    /// <summary>Candidate pairs drawn (each two T_comp): SpannerSampling's <c>phase1_pairs</c>.</summary>
    public long PairsDrawn { get; init; }
    /// <summary>Candidate pairs tested, the informative ones included. At most <see cref="PairsDrawn"/>: the difference
    /// is the pairs paid for and still kept, untested, when Phase 1 ended.</summary>
    public long PairsTested { get; init; }
    /// <summary>Pairs paid for and still untested when Phase 1 ended, per prompt index (at most 15 each).</summary>
    public required IReadOnlyDictionary<int, int> Untested { get; init; }
    /// <summary>Why Phase 1 ended.</summary>
    public Phase1Stop Stop { get; init; }
    /// <summary>The run's status after Phase 1: <see cref="RunStatus.BudgetExhausted"/> if a budget ended it.</summary>
    public RunStatus Status { get; init; }
}

/// <summary>
/// SpannerSampling's Phase 1 written for reading, to check <see cref="SpannerPairScan"/> (and the loop in
/// <see cref="SpannerSampling.Run"/> that drives it) against the paper's pseudo-code: scalar doubles, one π_ref draw
/// per ordinary <see cref="ILearnerEnvironment.Sample"/> call, one candidate pair tested at a time.
/// <para>
/// It is the algorithm docs/ALGORITHMS.md documents, including the parts that are ours. Those parts decide which
/// draws are paid for and so which random words go to which prompt, so a reference that left them out would give
/// different results rather than simpler ones:
/// candidate pairs are paid for in blocks of 1, 2, 4, 8, 16, 16, … pairs; the pairs after an informative one are kept,
/// untested, for the prompt's next visit; Phase 1 may spend only its compute share.
/// </para>
/// </summary>
internal static class SpannerPhase1Reference
{
    /// <summary>Largest block of draws, in pairs (<see cref="SpannerPairScan.MaxBlock"/>).</summary>
    public const long LargestBlock = SpannerPairScan.MaxBlock;

    /// <summary>SpannerSampling hands the scan at most this many candidate pairs at a time, and the scan's blocks
    /// start again from one pair each time: so the block sizes restart every this many pairs tested at a prompt.</summary>
    public const long PairsPerScan = 1L << 16;

    /// <summary>
    /// Runs Phase 1 with the settings <paramref name="s"/> (from <see cref="SpannerSampling.Derive"/>) on
    /// <paramref name="environment"/>, drawing prompts and responses from <paramref name="rng"/> — the generator
    /// SpannerSampling names <c>phase1</c>, i.e. <c>rng.Split("phase1")</c> of the run's generator.
    /// Throws <see cref="InputException"/> where SpannerSampling does (a spanner pair beyond what Σ⁻¹ can resolve).
    /// </summary>
    public static Phase1Outcome Run(ILearnerEnvironment environment, Rng rng, SpannerSettings s)
    {
        // Every π_ref draw goes into the log, one Add per draw, as SpannerSampling records it for the coverage estimate.
        var log = new SampleLog();
        var env = new RecordingEnvironment(environment, log);
        var meter = env.Meter;
        int d = env.Dimension;
        double nuSquared = s.Nu * s.Nu;

        var sigma = new EllipticNorm(d, s.Lambda);          // Σ ← λI                       [paper]
        var ridge = new RidgeRegression(d, s.Lambda);       // D ← ∅, least squares on D
        var spanner = new List<SpannerElement>();           // Ψ ← ∅
        var prompts = new List<Prompt>();
        var blocks = new List<long>();
        // Pairs paid for and not yet tested, per prompt, oldest first [ours]: nothing decided anything from them,
        // so they are still independent π_ref pairs of that prompt when it comes up again.
        var kept = new Dictionary<int, Queue<(Response Y1, Response Y2)>>();
        long phase1ComputeEnd = s.Phase1Compute is long share ? meter.TComp + share : long.MaxValue;
        // Pairs Phase 1 can still pay for: its share of T_comp, and the compute budget itself.
        long PairsAffordable() => Math.Min(phase1ComputeEnd - meter.TComp, meter.RemainingComp) / 2;

        long pairsDrawn = 0, pairsTested = 0;
        var stop = Phase1Stop.SpannerPromptsDone;
        var status = RunStatus.Ok;
        var v = new double[d];

        for (long t = 0; t < s.SpannerPrompts; t++)                                    // t = 1..T_span     [paper]
        {
            var x = env.DrawPrompt(rng);                                               // x ~ ρ
            prompts.Add(x);
            if (!kept.TryGetValue(x.Index, out var untested)) kept[x.Index] = untested = new();
            // [ours] A prompt's search starts only if the compute share pays for one more pair — even when pairs kept
            // from its last visit could be tested for free: the budget, not the test, then ends the spanner.
            if (PairsAffordable() < 1) { stop = Phase1Stop.ComputeShareSpent; status = RunStatus.BudgetExhausted; break; }

            bool informative = false;
            long blockPairs = 1;
            for (long k = 0; k < s.CandidatePairs; k++)                                // k = 1..K_span
            {
                if (k % PairsPerScan == 0) blockPairs = 1;
                if (untested.Count == 0)
                {
                    // [ours] Pay for the next block of candidate pairs: as many as the block schedule, the pairs left
                    // before the block sizes restart, and the compute share allow.
                    long affordable = PairsAffordable();
                    if (affordable < 1) { stop = Phase1Stop.ComputeShareSpent; status = RunStatus.BudgetExhausted; goto phase1Ended; }
                    long leftBeforeRestart = Math.Min(s.CandidatePairs, (k / PairsPerScan + 1) * PairsPerScan) - k;
                    long b = Math.Min(Math.Min(blockPairs, leftBeforeRestart), affordable);
                    for (long i = 0; i < b; i++)
                    {
                        var first = env.Sample(x, rng);                                // y1 ~ π_ref(x)
                        var second = env.Sample(x, rng);                               // y2 ~ π_ref(x)
                        untested.Enqueue((first, second));
                    }
                    pairsDrawn += b;
                    blocks.Add(b);
                    if (blockPairs < LargestBlock) blockPairs *= 2;
                }

                var (y1, y2) = untested.Dequeue();
                pairsTested++;
                var phi1 = env.Features(y1);
                var phi2 = env.Features(y2);
                for (int i = 0; i < d; i++) v[i] = phi1[i] - phi2[i];                  // v = φ(x,y1) − φ(x,y2)
                double normSquared = EllipticNormSquared(sigma.Inverse, v);            // ‖v‖²_{Σ⁻¹}
                // ‖v‖_{Σ⁻¹} ≤ ν: Ψ already covers v. The pair cost its two samples and no reward query. [paper]
                // (Written as "not covered" below, so that a NaN norm counts as informative and is refused next.)
                if (normSquared <= nuSquared) continue;

                // ‖v‖_{Σ⁻¹} > ν: informative.
                if (!(normSquared <= SpannerSampling.MaxSpannerNormSquared))
                    throw new InputException(
                        $"spanner: a relative feature has ‖v‖²_Σ⁻¹ = {normSquared:0.###E+0} (λ = {s.Lambda:R}), beyond what Σ⁻¹ can " +
                        $"resolve in double precision ({SpannerSampling.MaxSpannerNormSquared:0E+0}): rescale the features or raise --algo-param lambda");
                // Never query half a pair. The pair was already paid for; Phase 2 cannot query either, so the run
                // goes straight to its output.
                if (meter.RemainingData < 2) { stop = Phase1Stop.DataBudgetSpent; status = RunStatus.BudgetExhausted; goto phase1Ended; }
                double r1 = env.Query(y1);                                             // r1, r2 ← query    [paper]
                double r2 = env.Query(y2);
                ridge.Add(v, r1 - r2);                                                 // D += (x, y1, y2, r1, r2)
                sigma.Add(v);                                                          // Ψ += v;  Σ += v vᵀ
                log.Keep(y1);                                                          // the coverage estimate sees
                log.Keep(y2);                                                          // every spanner response
                spanner.Add(new SpannerElement(y1, y2, r1, r2, v.ToArray(), normSquared));
                informative = true;
                break;                                                                 // next prompt
            }
            // [ours] Anytime stopping: K_span failed pairs in a row say that the π_ref⊗π_ref-mass of uncovered pairs
            // is ≲ ln(1/δ)/K_span.
            if (!informative && s.Anytime) { stop = Phase1Stop.FailureStreak; break; }
        }

    phase1Ended:
        return new Phase1Outcome
        {
            Sigma = sigma, Ridge = ridge, Log = log, Spanner = spanner, Prompts = prompts, Blocks = blocks,
            Untested = kept.Where(p => p.Value.Count > 0).ToDictionary(p => p.Key, p => p.Value.Count),
            PairsDrawn = pairsDrawn, PairsTested = pairsTested, Stop = stop, Status = status,
        };
    }

    /// <summary>
    /// vᵀ A v for the symmetric matrix A = Σ⁻¹ (row-major d × d), by rows, using the symmetry:
    /// <code>vᵀ A v = Σ_i v_i · (A_ii v_i + 2 Σ_{k&gt;i} A_ik v_k),</code>
    /// each product added by one fused multiply-add, k and i increasing.
    /// </summary>
    /// <remarks>This is the evaluation order of the scan's vectorized form, written out for one pair, so the test
    /// decisions agree bit for bit: any other order differs from it by rounding only, but a pair whose norm lies
    /// within rounding of ν would then be decided differently. Like the scan, it reads the upper triangle of the stored
    /// Σ⁻¹ only; Sherman–Morrison keeps the stored matrix symmetric only up to rounding.</remarks>
    public static double EllipticNormSquared(ReadOnlySpan<double> inverse, ReadOnlySpan<double> v)
    {
        int d = v.Length;
        double q = 0;
        for (int i = 0; i < d; i++)
        {
            double row = v[i] * inverse[i * d + i];                                     // A_ii v_i
            for (int k = i + 1; k < d; k++) row = Math.FusedMultiplyAdd(v[k], 2 * inverse[i * d + k], row); // + 2 A_ik v_k
            q = Math.FusedMultiplyAdd(row, v[i], q);                                     // q += v_i · row
        }
        return q;
    }
}
