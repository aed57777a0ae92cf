using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// Passive baseline: pairs y1, y2 ~ π_ref, reward both, ridge least squares on the relative features, output the
/// proper policy π_θ̂ drawn by an <see cref="EnvelopeSampler"/> (<see cref="SoftmaxOutputPolicy"/>) sized from the
/// empirical coverage of π_θ̂ on its own samples. Compute-cheap (2 samples per pair), data-hungry: it sees a
/// response of π_ref-mass q only after ≈ 1/q pairs.
/// Number of pairs: <c>pairs</c> if given; else as many as the budgets allow (⌊budget_data/2⌋, ⌊budget_comp/2⌋,
/// the smaller); else the same sample-size rule as SpannerSampling's T_exp, ⌈c·d·R_max²/(β·min(ε,β))⌉.
/// </summary>
public sealed class Passive : IAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "passive";

    private readonly long? _pairs;
    private readonly double _lambda, _coverageSlack;
    private readonly double? _pilotMiss;

    /// <summary>Reads and validates the algo-params (<c>epsilon, delta, rmax, pairs, lambda, coverage-slack, pilot-miss</c>).</summary>
    public Passive(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, algoParams);
        Target = LearningTarget.Read(p);
        _pairs = p.IntegerOrNull("pairs", 0, int.MaxValue);
        _lambda = p.Real("lambda", SpannerSampling.DefaultLambda, 0, 1e6, minExclusive: true);
        _coverageSlack = p.Real("coverage-slack", SpannerSampling.DefaultCoverageSlack, 1, 1e6);
        _pilotMiss = p.RealOrNull("pilot-miss", 0, 0.5, minExclusive: true);
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public LearningTarget Target { get; }

    /// <summary>The number of pairs a run will draw (see the class summary).</summary>
    public long PairsFor(int d, double beta, long? budgetData, long? budgetComp)
    {
        if (_pairs is long given) return given;
        if (budgetData is null && budgetComp is null) return Target.InformativePairs(d, beta);
        return Math.Min(budgetData is long bd ? bd / 2 : long.MaxValue, budgetComp is long bc ? bc / 2 : long.MaxValue);
    }

    /// <inheritdoc />
    public AlgorithmOutput Run(ILearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var log = new SampleLog();
        var env = new RecordingEnvironment(environment, log);
        int d = env.Dimension;
        long pairs = PairsFor(d, env.Beta, env.Meter.BudgetData, env.Meter.BudgetComp);
        // Refuse, before any oracle call, a plan that cannot finish: ≈ 10 minutes of pairs at O(d) each when the user
        // set the size (pairs or a budget), and 10⁷ pairs (seconds) when it is derived from ε, β and R_max alone.
        bool derived = _pairs is null && env.Meter.BudgetData is null && env.Meter.BudgetComp is null;
        if (pairs * Math.Max(1.0, d) > SpannerSampling.MaxPlannedWork / 10 || (derived && pairs > 10_000_000))
            throw new InputException(
                $"passive: {pairs:0.#E+0} pairs at d = {d} cannot finish (derived from {(_pairs is not null ? "algo-param pairs" : env.Meter.BudgetData is not null || env.Meter.BudgetComp is not null ? "the budgets" : "epsilon, beta and rmax")}); " +
                "give a smaller --budget-data or algo-param pairs");
        var ridge = new RidgeRegression(d, _lambda);
        var v = new double[d];
        var status = RunStatus.Ok;
        long done = 0;
        try
        {
            for (long t = 0; t < pairs; t++)
            {
                if ((t & 0xFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
                var x = env.DrawPrompt(rng);
                var y1 = env.Sample(x, rng);
                var y2 = env.Sample(x, rng);
                if (env.Meter.RemainingData < 2) { status = RunStatus.BudgetExhausted; break; }
                double r1 = env.Query(y1);
                double r2 = env.Query(y2);
                var phi1 = env.Features(y1);
                var phi2 = env.Features(y2);
                for (int i = 0; i < d; i++) v[i] = phi1[i] - phi2[i];
                ridge.Add(v, r1 - r2);
                done++;
                if ((t & 0x3FF) == 0) progress?.Report((double)t / pairs);
            }
        }
        catch (BudgetExhaustedException)
        {
            status = RunStatus.BudgetExhausted;
        }
        var theta = new double[d];
        ridge.Solve(theta);
        double coverage = _coverageSlack * log.CoverageEstimate(env, theta);
        double pilotMiss = _pilotMiss ?? Target.DefaultPilotMiss;
        var sampler = EnvelopeSampler.ForCoverage(env.Beta, coverage, pilotMiss, Target.Delta);
        progress?.Report(1);
        var diagnostics = new Dictionary<string, double>
        {
            ["pairs"] = done,
            ["pairs_planned"] = pairs,
            ["lambda"] = _lambda,
            ["output_coverage"] = coverage,
            ["pilot_miss"] = pilotMiss,
            ["epsilon"] = Target.Epsilon,
            ["delta"] = Target.Delta,
        };
        return new AlgorithmOutput(new SoftmaxOutputPolicy(theta, sampler), status, diagnostics);
    }
}
