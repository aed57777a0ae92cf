using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// Passive baseline (SPEC §3.2): pairs y1, y2 ~ π_ref, reward both, ridge least squares on the relative features,
/// output the proper policy π_θ̂ (<see cref="LinearSoftmaxOutputPolicy"/>). Compute-cheap (2 samples per pair),
/// data-hungry: it sees a response of π_ref-mass q only after ≈ 1/q pairs.
/// Number of pairs: <c>pairs</c> if given; else ⌊budget_data/2⌋ when a data budget is given (it spends all of it);
/// else the same sample-size rule as SpannerSampling's T_exp, ⌈c·d·R_max²/(β·min(ε,β))⌉.
/// </summary>
public sealed class Passive : IEnumerableAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "passive";

    private readonly LearningTarget _target;
    private readonly long? _pairs;
    private readonly double _lambda;

    /// <summary>Reads and validates the algo-params (<c>epsilon, delta, rmax, pairs, lambda</c>).</summary>
    public Passive(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = new AlgorithmParameters(AlgorithmName, algoParams);
        _target = LearningTarget.Read(p);
        _pairs = p.Integer("pairs", 0, int.MaxValue);
        _lambda = p.Real("lambda", 0, 1e6, minExclusive: true) ?? SpannerSampling.DefaultLambda;
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <summary>The number of pairs a run will draw (see the class summary).</summary>
    public long PairsFor(int d, double beta, long? budgetData) =>
        _pairs ?? (budgetData is long b ? b / 2 : _target.InformativePairs(d, beta));

    /// <inheritdoc />
    public AlgorithmOutput Run(EnumerableEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        var env = environment;
        int d = env.Dimension;
        long pairs = PairsFor(d, env.Beta, env.Meter.BudgetData);
        var ridge = new RidgeRegression(d, _lambda);
        var v = new double[d];
        var status = RunStatus.Ok;
        long done = 0;
        try
        {
            for (long t = 0; t < pairs; t++)
            {
                if ((t & 0xFFF) == 0) cancellationToken.ThrowIfCancellationRequested();
                int x = env.DrawPrompt(rng);
                int y1 = env.Sample(x, rng);
                int y2 = env.Sample(x, rng);
                if (env.Meter.RemainingData < 2) { status = RunStatus.BudgetExhausted; break; }
                double r1 = env.Query(x, y1);
                double r2 = env.Query(x, y2);
                var phi1 = env.FeatureRow(x, y1);
                var phi2 = env.FeatureRow(x, y2);
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
        progress?.Report(1);
        var diagnostics = new Dictionary<string, double>
        {
            ["pairs"] = done,
            ["pairs_planned"] = pairs,
            ["lambda"] = _lambda,
            ["epsilon"] = _target.Epsilon,
            ["delta"] = _target.Delta,
        };
        return new AlgorithmOutput(new LinearSoftmaxOutputPolicy(theta, _target.Delta), status, diagnostics);
    }
}
