using System.Reflection;
using LmExplore.Algorithms;
using LmExplore.Experiments;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;
using Xunit.Abstractions;

namespace LmExplore.Tests.Algorithms;

/// <summary>
/// SpannerSampling's Phase 1 as it runs — <see cref="SpannerSampling.Run"/>'s loop driving <see cref="SpannerPairScan"/>
/// with blocked draws — gives exactly what the scalar <see cref="SpannerPhase1Reference"/> gives with one ordinary
/// <see cref="ILearnerEnvironment.Sample"/> per draw: the same prompts, draws, blocks and spanner, the same Σ⁻¹ and θ̂
/// bit for bit, the same record of draws, meter counts, diagnostics and stopping decision, and the generators left in
/// the same state.
/// <para>
/// The run is SpannerSampling itself with <c>exploration-rounds=0</c>: Phase 2 then draws nothing, so everything the
/// run consumed and charged is Phase 1's, and its output (θ̂ = ridge LS on D, Σ_span⁻¹, M from the record of draws) is
/// a function of Phase 1's state alone. The environment it gets is a pass-through that watches the oracle traffic and
/// keeps the generator it was handed (the <c>phase1</c> child of the run's generator).
/// </para>
/// </summary>
public class SpannerPhase1ReferenceTests(ITestOutputHelper output)
{
    /// <summary>The dimensions: every remainder of the scan's coordinate-major copy (8-wide with AVX-512, 4-wide, single
    /// coordinates) and the quadratic form's odd last row.</summary>
    public static TheoryData<int> Dimensions => new() { 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 17, 19, 24 };

    private const int SeedsPerDimension = 24;

    [Theory]
    [MemberData(nameof(Dimensions))]
    public void FastPhase1EqualsReference_OnRandomInstances(int d)
    {
        var seen = new Dictionary<Phase1Stop, int>();
        int budgetCases = 0;
        long spannerPairs = 0;
        for (int seed = 1; seed <= SeedsPerDimension; seed++)
        {
            var c = Phase1Case.Generate(d, seed);
            var r = Compare(c);
            seen[r.Stop] = seen.GetValueOrDefault(r.Stop) + 1;
            if (c.BudgetComp is not null || c.BudgetData is not null) budgetCases++;
            spannerPairs += r.Spanner.Count;
        }
        output.WriteLine($"d = {d}: {SeedsPerDimension} cases ({budgetCases} with budgets), {spannerPairs} spanner pairs, " +
            $"stops {string.Join(", ", seen.OrderBy(p => p.Key).Select(p => $"{p.Key} × {p.Value}"))}");
        // The cases must reach every way Phase 1 can end, or the comparison proves less than it seems.
        Assert.True(seen.Count >= 3, $"d = {d}: only the stops {string.Join(", ", seen.Keys)} occurred");
        Assert.True(seen.ContainsKey(Phase1Stop.ComputeShareSpent), $"d = {d}: no case ran out of compute inside Phase 1");
        Assert.True(spannerPairs >= SeedsPerDimension, $"d = {d}: only {spannerPairs} spanner pairs in all cases");
    }

    /// <summary>Every way Phase 1 can end, on purpose (the random cases reach them by chance).</summary>
    [Theory]
    [InlineData(4, Phase1Stop.FailureStreak)]
    [InlineData(13, Phase1Stop.SpannerPromptsDone)]
    [InlineData(5, Phase1Stop.ComputeShareSpent)]
    [InlineData(12, Phase1Stop.DataBudgetSpent)]
    public void FastPhase1EqualsReference_ForEachStop(int d, Phase1Stop expected)
    {
        var c = new Phase1Case(d, 7, "zipf", Prompts: 3, Responses: 40, Lambda: 0.01, Nu: 0.5, CandidatePairs: 60,
            SpannerPrompts: expected == Phase1Stop.SpannerPromptsDone ? 10 : null, Anytime: true,
            BudgetComp: expected == Phase1Stop.ComputeShareSpent ? 301 : null, SpannerShare: null,
            BudgetData: expected == Phase1Stop.DataBudgetSpent ? 13 : null, Noise: true);
        var r = Compare(c);
        Assert.Equal(expected, r.Stop);
    }

    /// <summary>
    /// The norm itself: the scan's vectorized ‖v‖²_{Σ⁻¹} of an informative pair is the reference's scalar one, bit for
    /// bit, for Σ⁻¹ after any number of Sherman–Morrison updates (and re-factorizations). A run does not report the
    /// norm, so the comparison of whole runs sees it only through decisions. ν² is drawn around the norm of a fresh
    /// pair, so that the informative pair falls anywhere in a block.
    /// </summary>
    [Theory]
    [MemberData(nameof(Dimensions))]
    public void ScanNormEqualsReferenceNorm_BitForBit(int d)
    {
        var instance = TestInstances.Random((ulong)(100 + d), 2, 64, d, 0.5, 1, RefShape.Random);
        var env = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
        var scan = new SpannerPairScan(d);
        var sigma = new EllipticNorm(d, 0.05);
        var rng = new Rng((ulong)d);
        var v = new double[d];
        int compared = 0;
        for (int i = 0; i < 300; i++)
        {
            var x = env.DrawPrompt(rng);
            var phi1 = env.Features(env.Sample(x, rng));
            var phi2 = env.Features(env.Sample(x, rng));
            for (int k = 0; k < d; k++) v[k] = phi1[k] - phi2[k];
            double nuSquared = 2 * rng.NextDouble() * SpannerPhase1Reference.EllipticNormSquared(sigma.Inverse, v);
            var found = scan.Scan(env, x, rng, sigma, nuSquared, 1 + rng.NextInt(40), 1 + rng.NextInt(40));
            if (!found.Informative) continue;
            double reference = SpannerPhase1Reference.EllipticNormSquared(sigma.Inverse, scan.FoundFeature);
            if (!SameBits(reference, found.NormSquared))
                Assert.Fail($"d = {d}, scan {i}: the scan's norm {found.NormSquared:R}, the reference's {reference:R}");
            compared++;
            sigma.Add(scan.FoundFeature);
        }
        Assert.True(compared > 100, $"d = {d}: only {compared} informative pairs");
        Assert.True(sigma.Count > sigma.RefactorEvery, "Σ⁻¹ was never re-factorized");
    }

    /// <summary>
    /// The compute share runs out just as a prompt that has pairs kept from its last visit comes up again: those pairs
    /// would cost nothing to test, but the prompt's search does not start — Phase 1 stops for the budget. (The case is
    /// found by trying compute budgets on one instance until the reference ends that way.)
    /// </summary>
    [Fact]
    public void FastPhase1EqualsReference_WhenTheShareRunsOutBeforeARevisitedPromptsKeptPairs()
    {
        Phase1Case? found = null;
        for (long budget = 4; budget < 2000 && found is null; budget++)
        {
            var c = new Phase1Case(4, 5, "zipf", Prompts: 1, Responses: 40, Lambda: 0.01, Nu: 0.5, CandidatePairs: 30,
                SpannerPrompts: 200, Anytime: true, BudgetComp: budget, SpannerShare: null, BudgetData: null, Noise: false);
            var (instance, algo, seed) = c.Build();
            var env = new EnumerableEnvironment(instance, c.Meter(), new Rng(1));
            var r = SpannerPhase1Reference.Run(env, new Rng(seed).Split("phase1"), algo.Derive(4, instance.Beta, budget));
            // Blocks are drawn only when a prompt has no kept pair left, so kept pairs at a budget stop mean it came
            // at the start of that prompt's search.
            if (r.Stop == Phase1Stop.ComputeShareSpent && r.Untested.GetValueOrDefault(r.Prompts[^1].Index) > 0) found = c;
        }
        Assert.NotNull(found);
        var outcome = Compare(found);
        output.WriteLine($"budget {found.BudgetComp}: {outcome.Spanner.Count} spanner pairs, {outcome.Untested.Values.Sum()} kept pairs untested");
    }

    /// <summary>More than 2^16 candidate pairs at one prompt: the block sizes restart where SpannerSampling hands the
    /// scan its next 2^16 pairs, and the record of draws is thinned (more than <see cref="SampleLog.Capacity"/> draws).</summary>
    [Theory]
    [InlineData(3, true)]
    [InlineData(8, false)]
    public void FastPhase1EqualsReference_BeyondOneScanAndTheLogCapacity(int d, bool anytime)
    {
        // ν = 10⁶ passes no pair (‖v‖²_{Σ⁻¹} ≤ 4/λ = 400): every prompt's search is a full failure streak.
        var c = new Phase1Case(d, 3, "random", Prompts: 2, Responses: 50, Lambda: 0.01, Nu: 1e6, CandidatePairs: 70_000,
            SpannerPrompts: anytime ? null : 2, Anytime: anytime, BudgetComp: null, SpannerShare: null, BudgetData: null, Noise: false);
        var r = Compare(c);
        Assert.Equal(anytime ? Phase1Stop.FailureStreak : Phase1Stop.SpannerPromptsDone, r.Stop);
        Assert.Contains(r.Blocks.Skip(1), b => b == 1);                 // a block of one pair after the first: a restart
        Assert.True(r.Log.Records.Count < 2 * r.PairsDrawn, "the record of draws was not thinned");
    }

    /// <summary>Ties: with λ = 1, ν = 1 and 0/1 features, ‖v‖²_{Σ⁻¹} = ν² exactly for every pair that differs in one
    /// coordinate while Σ = I. Such a pair is covered (the test is ‖v‖ &gt; ν), and both paths must agree on it.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(9)]
    public void FastPhase1EqualsReference_WhenNormsTieWithNu(int d)
    {
        for (int seed = 1; seed <= 10; seed++)
        {
            var c = new Phase1Case(d, seed, "lattice", Prompts: 2, Responses: 12, Lambda: 1, Nu: 1, CandidatePairs: 40,
                SpannerPrompts: 30, Anytime: seed % 2 == 0, BudgetComp: null, SpannerShare: null, BudgetData: null, Noise: seed % 3 == 0);
            Compare(c);
        }
    }

    /// <summary>A pair beyond what Σ⁻¹ resolves (λ = 10⁻¹⁸, unit features): both paths refuse it, after the same draws.</summary>
    [Fact]
    public void FastPhase1AndReference_RefuseTheSamePairBeyondDoublePrecision()
    {
        var c = new Phase1Case(4, 2, "zipf", Prompts: 2, Responses: 30, Lambda: 1e-18, Nu: 0.5, CandidatePairs: 20,
            SpannerPrompts: null, Anytime: true, BudgetComp: null, SpannerShare: null, BudgetData: null, Noise: false);
        var (instance, algo, seed) = c.Build();
        var fast = new WatchingEnvironment(new EnumerableEnvironment(instance, c.Meter(), new Rng(seed ^ 0xA5)));
        var slow = new WatchingEnvironment(new EnumerableEnvironment(instance, c.Meter(), new Rng(seed ^ 0xA5)));
        var rng = new Rng(seed);
        var settings = algo.Derive(instance.Dimension, instance.Beta, slow.Meter.BudgetComp);
        var fastError = Assert.Throws<InputException>(() => algo.Run(fast, rng, null, CancellationToken.None));
        var slowError = Assert.Throws<InputException>(() => SpannerPhase1Reference.Run(slow, rng.Split("phase1"), settings));
        Assert.Equal(fastError.Message, slowError.Message);
        AssertSameTraffic(fast, slow);
        Assert.Equal(fast.Meter.TComp, slow.Meter.TComp);
        Assert.Equal(0, fast.Meter.TData);
    }

    /// <summary>
    /// The batched alias draws' rare words, placed where Phase 1 draws them: a column word that Lemire's rejection
    /// redraws (probability (2³² mod n)/2³² per draw) and a coin within 2⁻³² of its column's threshold (2⁻³² per draw),
    /// each in the first block (a 2-word chunk, the scalar tail of the batched look-up) and in a later block (4 words or
    /// more, the gathered path). Either makes the batched sampler rewind and replay its chunk one draw at a time, and
    /// consumes one word more than it has draws; the test checks that the run did consume it.
    /// </summary>
    [Theory]
    [InlineData(RareWord.Rejection, false)]
    [InlineData(RareWord.Rejection, true)]
    [InlineData(RareWord.Coin, false)]
    [InlineData(RareWord.Coin, true)]
    public void FastPhase1EqualsReference_WhenTheBatchedAliasSamplerMeetsRareWords(RareWord kind, bool laterBlock)
    {
        const int d = 3;
        // One prompt: its draw takes the stream's word 0, the first block (one pair) words 1 and 2, and — while no pair
        // passes, so no prompt is drawn again — every later word goes to a later block.
        // A word is rejected when the low half of (its high half)·n is below 2³² mod n; this n makes that likely enough.
        const int n = 60_000;
        ulong rejectionZone = (1UL << 32) % n;
        long candidatePairs = laterBlock ? 500 : 20;
        int first = laterBlock ? 3 : 1, last = laterBlock ? (int)(2 * candidatePairs) : 2;
        ulong seed = 0, word = 0;
        int at = -1;
        for (ulong s = 1; at < 0; s++)
        {
            Assert.True(s < 2_000_000, "no seed put a rare word where it is wanted");
            var words = new Rng(s).Split("phase1");
            for (int i = 0; i <= last && at < 0; i++)
            {
                ulong w = words.NextUInt64();
                if (i < first) continue;
                bool rare = kind == RareWord.Rejection
                    ? (uint)((w >> 32) * n) < rejectionZone
                    : w >> 63 == 0;                 // column 0 of a 2-response table, whose threshold is set from w below
                if (rare) (seed, word, at) = (s, w, i);
            }
        }
        EnumerableInstance instance;
        if (kind == RareWord.Rejection)
            instance = TestInstances.Random(11, 1, n, d, 0.5, 1, RefShape.Zipf);
        else
        {
            // Two responses with π_ref = (a, 1 − a), a < ½: column 0 has the coin threshold 2a (and alias 1). Put it
            // strictly inside the 2⁻³²-wide window just above the word's coin u, where 32 bits cannot decide.
            double u = (word & 0xFFFFFFFFUL) / 4294967296.0;
            double a = (u + 0.5 / 4294967296.0) / 2;
            var features = new double[2 * d];
            features[0] = 1;                         // φ(y0) = e_1, φ(y1) = e_2: every mixed pair has |v|² = 2
            features[d + 1] = 1;
            var logRef = new double[] { Math.Log(a), Math.Log(1 - a) };
            var prompt = new EnumerablePrompt(1, logRef, features, d, new double[] { 1, 0, 0 });
            double threshold = prompt.RefSampler.Threshold(0);
            Assert.True(u < threshold && u + 1 / 4294967296.0 > threshold, "the crafted threshold misses the coin's window");
            instance = new EnumerableInstance("coin-window", 0.5, [1, 0, 0], NoiseModel.None, [prompt]);
        }
        // Later block: ν = 10⁶ lets no pair pass, so the one prompt's search runs through every block. First block:
        // ordinary ν, so the spanner grows and the prompt is drawn again after it.
        var c = new Phase1Case(d, (int)seed, "given", Prompts: 1, Responses: instance.Prompts[0].ResponseCount, Lambda: 0.01, Nu: laterBlock ? 1e6 : 0.5,
            CandidatePairs: candidatePairs, SpannerPrompts: 20, Anytime: true, BudgetComp: null, SpannerShare: null, BudgetData: null,
            Noise: false) { Given = instance, RunSeed = seed };
        var r = Compare(c, countWords: true, out long wordsConsumed);
        long aliasDraws = r.Prompts.Count + 2 * r.PairsDrawn;   // one alias draw per prompt and per response
        output.WriteLine($"{kind}, {(laterBlock ? "later block" : "first block")}: seed {seed}, rare word {at}, " +
            $"{wordsConsumed} words for {aliasDraws} draws, {r.Spanner.Count} spanner pairs");
        Assert.True(wordsConsumed > aliasDraws, "the rare word cost no extra word: its branch did not run");
        Assert.True(at < wordsConsumed, "Phase 1 stopped before the rare word");
    }

    /// <summary>Which rare word of the batched alias sampler a case provokes.</summary>
    public enum RareWord
    {
        /// <summary>A column word in Lemire's rejection zone.</summary>
        Rejection,
        /// <summary>A coin that 32 bits cannot decide.</summary>
        Coin,
    }

    /// <summary>When the reward budget cannot pay for an informative pair, SpannerSampling jumps to its output: the stop
    /// is reported as 4 (reward budget spent), not as 2 (T_span reached).</summary>
    [Fact]
    public void DataBudgetStop_IsNotReportedAsSpannerPromptsDone()
    {
        var c = new Phase1Case(4, 7, "zipf", Prompts: 3, Responses: 40, Lambda: 0.01, Nu: 0.5, CandidatePairs: 60,
            SpannerPrompts: null, Anytime: true, BudgetComp: null, SpannerShare: null, BudgetData: 5, Noise: false);
        var (instance, algo, seed) = c.Build();
        var env = new EnumerableEnvironment(instance, c.Meter(), new Rng(1));
        var run = algo.Run(env, new Rng(seed), null, CancellationToken.None);
        Assert.Equal(RunStatus.BudgetExhausted, run.Status);
        Assert.True(run.Diagnostics["spanner_size"] < run.Diagnostics["spanner_prompts_max"]);
        Assert.Equal(4.0, run.Diagnostics["phase1_stop"]);
    }

    // ------------------------------------------------------------------------------------------------------------

    private static Phase1Outcome Compare(Phase1Case c) => Compare(c, countWords: false, out _);

    /// <summary>Runs SpannerSampling (Phase 1 only) and the reference on twin environments and asserts they agree in
    /// everything Phase 1 decides, records and leaves behind. Returns the reference's outcome and the number of random
    /// words Phase 1 consumed (if <paramref name="countWords"/>; −1 otherwise).</summary>
    private static Phase1Outcome Compare(Phase1Case c, bool countWords, out long wordsConsumed)
    {
        var (instance, algo, seed) = c.Build();
        ulong noiseSeed = seed * 31 + 5;
        var fastNoise = new Rng(noiseSeed);
        var slowNoise = new Rng(noiseSeed);
        var fast = new WatchingEnvironment(new EnumerableEnvironment(instance, c.Meter(), fastNoise));
        var slow = new WatchingEnvironment(new EnumerableEnvironment(instance, c.Meter(), slowNoise));
        int d = instance.Dimension;

        var run = algo.Run(fast, new Rng(seed), null, CancellationToken.None);
        var settings = algo.Derive(d, instance.Beta, slow.Meter.BudgetComp);
        var phase1Rng = new Rng(seed).Split("phase1");
        var r = SpannerPhase1Reference.Run(slow, phase1Rng, settings);
        string at = c.ToString();

        // The fast path draws only in blocks, the reference only one by one, each from the phase-1 generator alone.
        True(fast.SingleDraws == 0, at, $"the fast path made {fast.SingleDraws} single draws");
        True(slow.BlockDraws == 0, at, $"the reference made {slow.BlockDraws} block draws");
        True(fast.Generators.Count == slow.Generators.Count && slow.Generators.Count <= 1, at,
            $"drawn from {fast.Generators.Count} and {slow.Generators.Count} generators");
        True(slow.Generators.Count == 0 || ReferenceEquals(slow.Generators[0], phase1Rng), at, "the reference drew from another generator");

        // Oracle traffic: prompts, draws (and the blocks they were paid in), reward queries and their answers.
        AssertSameTraffic(fast, slow, at);
        SameSequence(slow.Prompts, r.Prompts, (a, b) => a.Index == b.Index, at, "prompt recorded by the reference");
        SameSequence(r.Blocks, fast.Blocks, (a, b) => 2 * a == b, at, "block (responses)");
        True(2 * r.PairsDrawn == slow.Draws.Count, at, "the reference's pair count is not its draws");

        // The spanner: the queried pairs, in order, are Ψ's pairs, with the rewards D holds.
        True(2 * r.Spanner.Count == fast.Queries.Count, at, $"{fast.Queries.Count} queries for {r.Spanner.Count} spanner pairs");
        for (int i = 0; i < r.Spanner.Count; i++)
        {
            var e = r.Spanner[i];
            True(SameResponse(e.Y1, fast.Queries[2 * i].Response) && SameResponse(e.Y2, fast.Queries[2 * i + 1].Response), at,
                $"spanner pair {i}: the run queried {fast.Queries[2 * i].Response}, {fast.Queries[2 * i + 1].Response}; the reference found {e.Y1}, {e.Y2}");
            True(SameBits(e.R1, fast.Queries[2 * i].Reward) && SameBits(e.R2, fast.Queries[2 * i + 1].Reward), at, $"spanner pair {i}: rewards");
            True(e.NormSquared > settings.Nu * settings.Nu, at, $"spanner pair {i} is not informative");
        }

        // Meter counts: T_comp = 2·(pairs drawn), T_data = 2·|Ψ|.
        True(fast.Meter.TComp == slow.Meter.TComp, at, $"T_comp {fast.Meter.TComp}, reference {slow.Meter.TComp}");
        True(fast.Meter.TData == slow.Meter.TData, at, $"T_data {fast.Meter.TData}, reference {slow.Meter.TData}");
        True(2 * r.PairsDrawn == slow.Meter.TComp && 2L * r.Spanner.Count == slow.Meter.TData, at, "the reference's counts are not its meter's");
        True(r.PairsDrawn - r.PairsTested >= 0 && r.PairsDrawn - r.PairsTested <= (SpannerPairScan.MaxBlock - 1L) * instance.Prompts.Count, at,
            $"{r.PairsDrawn - r.PairsTested} pairs paid for and never tested");

        // Diagnostics and the stopping decision.
        var diag = run.Diagnostics;
        True(r.Spanner.Count == diag["spanner_size"], at, $"spanner_size {diag["spanner_size"]}, reference {r.Spanner.Count}");
        True(r.PairsDrawn == diag["phase1_pairs"], at, $"phase1_pairs {diag["phase1_pairs"]}, reference {r.PairsDrawn}");
        True(r.Status == run.Status, at, $"status {run.Status}, reference {r.Status}");
        True((int)r.Stop == diag["phase1_stop"], at, $"phase1_stop {diag["phase1_stop"]}, reference {r.Stop}");
        if (r.Stop == Phase1Stop.DataBudgetSpent)
            True(diag["phase2_stop"] == 0, at, $"phase2_stop {diag["phase2_stop"]} after the reward budget ended Phase 1"); // Phase 2 is skipped
        else
            True(diag["phase2_stop"] == 1, at, $"phase2_stop {diag["phase2_stop"]} with no exploration rounds");

        // Σ_span⁻¹ and θ̂ = ridge LS on D, bit for bit.
        var policy = Assert.IsType<AnchoredTruncatedPolicy>(run.Policy);
        SameBits(r.Sigma.Inverse, SigmaSpanInverse(policy), at, "Σ⁻¹");
        var theta = new double[d];
        r.Ridge.Solve(theta);
        SameBits(theta, policy.Theta, at, "θ̂");

        // The record of draws: the scan records each block with AddMany, the reference each draw with Add.
        var replayed = new SampleLog();
        foreach (var block in fast.BlockContents) replayed.AddMany(block);
        SameSequence(r.Log.Records, replayed.Records, SameResponse, at, "record of draws, entry");
        // …and the run's own record, through the coverage estimate M̂ it sizes the output sampler with.
        double outputCoverage = settings.RejectionCoverage ?? settings.CoverageSlack * r.Log.CoverageEstimate(slow, theta);
        True(SameBits(outputCoverage, diag["output_coverage"]), at, $"output_coverage {diag["output_coverage"]:R}, reference {outputCoverage:R}");
        True(SameBits(outputCoverage, diag["rejection_coverage"]), at, $"rejection_coverage {diag["rejection_coverage"]:R}, reference {outputCoverage:R}");

        // The generators afterwards: the phase-1 stream at the same word, the reward noise at the same word.
        wordsConsumed = -1;
        if (countWords)
        {
            var walker = new Rng(seed).Split("phase1");
            for (wordsConsumed = 0; walker.Position != phase1Rng.Position; wordsConsumed++) walker.NextUInt64();
        }
        var fastRng = fast.Generators.Count == 1 ? fast.Generators[0] : new Rng(seed).Split("phase1");
        True(phase1Rng.Position == fastRng.Position, at, "the phase-1 generators stopped at different words");
        for (int i = 0; i < 3; i++) True(phase1Rng.NextUInt64() == fastRng.NextUInt64(), at, "the phase-1 generators' next words differ");
        for (int i = 0; i < 3; i++) True(slowNoise.NextUInt64() == fastNoise.NextUInt64(), at, "the reward-noise generators' next words differ");
        return r;
    }

    private static void AssertSameTraffic(WatchingEnvironment fast, WatchingEnvironment slow, string at = "")
    {
        SameSequence(slow.Prompts, fast.Prompts, (a, b) => a.Index == b.Index, at, "prompt");
        SameSequence(slow.Draws, fast.Draws, SameResponse, at, "draw");
        SameSequence(slow.Queries, fast.Queries, (a, b) => SameResponse(a.Response, b.Response) && SameBits(a.Reward, b.Reward), at, "reward query");
    }

    // Checks written to format their message only on failure: a case compares thousands of draws.
    private static void True(bool condition, string at, string what)
    {
        if (!condition) Assert.Fail($"{at}: {what}");
    }

    private static void SameSequence<T, U>(IReadOnlyList<T> expected, IReadOnlyList<U> actual, Func<T, U, bool> same, string at, string what)
    {
        for (int i = 0; i < Math.Min(expected.Count, actual.Count); i++)
            if (!same(expected[i], actual[i])) Assert.Fail($"{at}: {what} {i}: expected {expected[i]}, got {actual[i]}");
        if (expected.Count != actual.Count) Assert.Fail($"{at}: {actual.Count} of {what}, expected {expected.Count}");
    }

    private static bool SameResponse(Response a, Response b) =>
        a.PromptIndex == b.PromptIndex && a.Index == b.Index && SameBits(a.LogRefProb, b.LogRefProb);

    private static bool SameBits(double a, double b) => BitConverter.DoubleToInt64Bits(a) == BitConverter.DoubleToInt64Bits(b);

    private static void SameBits(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string at, string what)
    {
        True(expected.Length == actual.Length, at, $"{what}: lengths {expected.Length} and {actual.Length}");
        for (int i = 0; i < expected.Length; i++)
            if (!SameBits(expected[i], actual[i])) Assert.Fail($"{at}: {what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }

    /// <summary>The Σ_span⁻¹ the output policy was given (it keeps a private copy and exposes only what sampling needs).</summary>
    private static double[] SigmaSpanInverse(AnchoredTruncatedPolicy policy) =>
        (double[])(typeof(AnchoredTruncatedPolicy).GetField("_sigmaInverse", BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new InvalidOperationException("AnchoredTruncatedPolicy no longer keeps Σ_span⁻¹ in _sigmaInverse")).GetValue(policy)!;
}

/// <summary>
/// One comparison case: an instance and SpannerSampling's Phase-1 knobs. <see cref="Generate"/> draws a case from a
/// dimension and a seed over instance families (random Zipf, uniform-ish or log-normal π_ref; needle; the catalog's
/// <c>linear</c>; 0/1 lattice features with ties and repeated features), reward noise, λ, ν, K_span, T_span, anytime,
/// and budgets that end Phase 1 (a compute share that runs out inside it; reward budgets that cannot pay every pair).
/// </summary>
public sealed record Phase1Case(int D, int Seed, string Family, int Prompts, int Responses, double Lambda, double Nu,
    long? CandidatePairs, long? SpannerPrompts, bool Anytime, long? BudgetComp, double? SpannerShare, long? BudgetData, bool Noise)
{
    /// <summary>An instance given directly (family "given").</summary>
    internal EnumerableInstance? Given { get; init; }

    /// <summary>The run's seed, if not derived from <see cref="Seed"/>.</summary>
    internal ulong? RunSeed { get; init; }

    /// <summary>A random case.</summary>
    public static Phase1Case Generate(int d, int seed)
    {
        var rng = new Rng(0x5EED_0000UL + (ulong)(1000 * d + seed));
        string family = new[] { "zipf", "random", "lognormal", "needle", "linear", "lattice" }[rng.NextInt(6)];
        int prompts = 1 + rng.NextInt(4);
        int responses = family == "lattice" ? 2 + rng.NextInt(12) : 2 + rng.NextInt(rng.NextDouble() < 0.3 ? 8 : 120);
        double lambda = new[] { 0.01, 0.01, 0.1, 1 }[rng.NextInt(4)];
        double nu = new[] { 0.5, 0.5, 0.25, 1, 2 }[rng.NextInt(5)];
        if (family == "lattice" && rng.NextDouble() < 0.5) (lambda, nu) = (1, 1);
        bool anytime = rng.NextDouble() < 0.8;
        long? candidatePairs = 1 + rng.NextInt(rng.NextDouble() < 0.3 ? 8 : 200);
        // T_span derived (the elliptical-potential bound, hundreds of prompts) only where the failure streak ends
        // Phase 1 soon; otherwise a few dozen prompts.
        long? spannerPrompts = anytime && candidatePairs <= 50 && rng.NextDouble() < 0.5 ? null : 1 + rng.NextInt(60);
        long? budgetComp = null, budgetData = null;
        double? share = null;
        switch (rng.NextInt(4))
        {
            case 0:     // a compute budget whose share for Phase 1 often runs out inside it; K_span from it or given
                budgetComp = 2 + rng.NextInt(rng.NextDouble() < 0.5 ? 200 : 4000);
                if (rng.NextDouble() < 0.5) candidatePairs = null;
                if (rng.NextDouble() < 0.5) share = 0.05 + 0.9 * rng.NextDouble();
                spannerPrompts ??= 1 + rng.NextInt(60);
                break;
            case 1:     // a reward budget, odd or even, that may end the spanner
                budgetData = rng.NextInt(30);
                break;
            case 2:     // both
                budgetComp = 2 + rng.NextInt(1000);
                budgetData = rng.NextInt(30);
                break;
        }
        return new Phase1Case(d, seed, family, prompts, responses, lambda, nu, candidatePairs, spannerPrompts, anytime,
            budgetComp, share, budgetData, rng.NextDouble() < 0.4);
    }

    /// <summary>A fresh meter with the case's budgets.</summary>
    public Meter Meter() => new(BudgetData, BudgetComp);

    /// <summary>The instance, the algorithm (Phase 1 only: no exploration rounds) and the run's seed.</summary>
    internal (EnumerableInstance Instance, SpannerSampling Algorithm, ulong RunSeed) Build()
    {
        ulong seed = (ulong)(D * 7919 + Seed);
        var instance = Given ?? Family switch
        {
            "zipf" => TestInstances.Random(seed, Prompts, Responses, D, 0.5, 1, RefShape.Zipf),
            "random" => TestInstances.Random(seed, Prompts, Responses, D, 0.5, 1, RefShape.Random),
            "lognormal" => TestInstances.Random(seed, Prompts, Responses, D, 0.5, 1, RefShape.LogNormal),
            "needle" => TestInstances.Needle(seed, Prompts, Math.Max(2, Responses), D, 0.2, 1, 0.05),
            "linear" => InstanceCatalog.Create("linear", new Dictionary<string, string>
                { ["prompts"] = $"{Prompts}", ["responses"] = $"{Responses}", ["d"] = $"{D}" }, seed),
            "lattice" => Lattice(seed, Prompts, Responses, D),
            _ => throw new ArgumentException($"unknown family {Family}"),
        };
        if (Noise) instance = new EnumerableInstance(instance.Name, instance.Beta, instance.Theta, NoiseModel.Gaussian(0.3), instance.Prompts);
        var parameters = new Dictionary<string, string>
        {
            ["lambda"] = $"{Lambda:R}",
            ["nu"] = $"{Nu:R}",
            ["anytime"] = Anytime ? "true" : "false",
            ["exploration-rounds"] = "0",
        };
        if (CandidatePairs is long k) parameters["candidate-pairs"] = $"{k}";
        if (SpannerPrompts is long t) parameters["spanner-prompts"] = $"{t}";
        if (SpannerShare is double share) parameters["spanner-share"] = $"{share:R}";
        return (instance, new SpannerSampling(parameters), RunSeed ?? seed * 2654435761UL);
    }

    /// <summary>0/1 features (often repeated), Zipf π_ref: many pairs with v = 0, and norms that tie with ν exactly.</summary>
    private static EnumerableInstance Lattice(ulong seed, int prompts, int responses, int d)
    {
        var rng = new Rng(seed);
        var theta = TestInstances.UnitVector(rng, d);
        var list = new List<EnumerablePrompt>();
        for (int x = 0; x < prompts; x++)
        {
            var features = new double[responses * d];
            for (int i = 0; i < features.Length; i++) features[i] = rng.NextInt(4) == 0 ? 1 : 0;
            list.Add(new EnumerablePrompt(1.0 / prompts, TestInstances.RefLogProbs(rng, responses, RefShape.Zipf), features, d, theta));
        }
        return new EnumerableInstance($"test-lattice-{seed}", 0.5, theta, NoiseModel.None, list);
    }
}

/// <summary>A pass-through learner environment that records the oracle traffic — prompts, draws (single or in blocks),
/// reward queries with their answers — and the generators it was handed for sampling.</summary>
internal sealed class WatchingEnvironment(ILearnerEnvironment inner) : ILearnerEnvironment
{
    /// <summary>The prompts drawn, in order.</summary>
    public List<Prompt> Prompts { get; } = [];
    /// <summary>Every response drawn, in order, whether singly or in a block.</summary>
    public List<Response> Draws { get; } = [];
    /// <summary>Responses per <see cref="SampleMany"/> call.</summary>
    public List<int> Blocks { get; } = [];
    /// <summary>The responses of each <see cref="SampleMany"/> call.</summary>
    public List<Response[]> BlockContents { get; } = [];
    /// <summary>Every reward query and the oracle's answer, in order.</summary>
    public List<(Response Response, double Reward)> Queries { get; } = [];
    /// <summary>The distinct generators prompts and responses were drawn with, in order of first use.</summary>
    public List<Rng> Generators { get; } = [];
    /// <summary>Number of <see cref="Sample"/> calls.</summary>
    public int SingleDraws { get; private set; }
    /// <summary>Number of <see cref="SampleMany"/> calls.</summary>
    public int BlockDraws { get; private set; }

    public Meter Meter => inner.Meter;
    public double Beta => inner.Beta;
    public int Dimension => inner.Dimension;
    public bool CanEnumerate => inner.CanEnumerate;

    public Prompt DrawPrompt(Rng rng)
    {
        Use(rng);
        var x = inner.DrawPrompt(rng);
        Prompts.Add(x);
        return x;
    }

    public Response Sample(Prompt prompt, Rng rng)
    {
        Use(rng);
        SingleDraws++;
        var y = inner.Sample(prompt, rng);
        Draws.Add(y);
        return y;
    }

    public void SampleMany(Prompt prompt, Rng rng, Span<Response> destination)
    {
        Use(rng);
        BlockDraws++;
        inner.SampleMany(prompt, rng, destination);
        foreach (var y in destination) Draws.Add(y);
        Blocks.Add(destination.Length);
        BlockContents.Add(destination.ToArray());
    }

    public ReadOnlySpan<double> Features(Response response) => inner.Features(response);

    public double Query(Response response)
    {
        double r = inner.Query(response);
        Queries.Add((response, r));
        return r;
    }

    public Response[] Enumerate(Prompt prompt) => inner.Enumerate(prompt);

    private void Use(Rng rng)
    {
        if (!Generators.Any(g => ReferenceEquals(g, rng))) Generators.Add(rng);
    }
}
