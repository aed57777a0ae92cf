using System.Numerics.Tensors;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Algorithms;

/// <summary>
/// OptimalDesign — the data-efficient, compute-hopeless reference point (issue 8). For each prompt received:
/// <list type="number">
/// <item>Enumerate(x): all of Y(x), charged |Y(x)| to T_comp (once per distinct prompt; the handles are kept);</item>
/// <item>relative features v_y = φ(x,y) − φ(x,y₀) against the anchor y₀ = the response of largest π_ref mass;</item>
/// <item>a G-optimal design w over {v_y}: Frank–Wolfe on the D-optimal objective log det A(w), A(w) = Σ_y w_y v_y v_yᵀ
/// (Kiefer–Wolfowitz: the D-optimal design is G-optimal, max_y v_yᵀA⁻¹v_y = dim span{v_y}). Each iteration moves mass γ
/// to y⁺ = argmax_y g_y, g_y = v_yᵀA⁻¹v_y, with the exact line search γ = (g⁺/d − 1)/(g⁺ − 1); A⁻¹ and all g_y are
/// updated by Sherman–Morrison in O(|Y|·d). The start is the uniform design plus a ridge λ₀·I (λ₀ = 10⁻⁶·tr/d) so that A is
/// invertible when the v_y do not span R^d; the ridge decays as (1 − γ) per step, so the limit is the unregularised
/// design on the span. Stops when max g ≤ 1.01·d or after <c>design-iterations</c> iterations;</item>
/// <item>the prompt's n_x pairs (y, y₀) allocated by the design, rounded (⌊n_x·w_y⌋, then the largest remainders);
/// rewards for both (2 T_data per pair).</item>
/// </list>
/// Then ridge least squares on all (v, Δr). Output: π_θ̂ drawn by an EnvelopeSampler sized from its coverage, which is
/// computed exactly on the enumerated prompts (max_y π_θ̂(y|x)/π_ref(y|x), from handles already paid for) times the
/// coverage slack. Pairs: <c>pairs</c>, else ⌊budget_data/2⌋, else the sample-size rule of <see cref="LearningTarget"/>;
/// <c>pairs-per-prompt</c> (default 4d) pairs per prompt received.
/// </summary>
public sealed class OptimalDesign : IAlgorithm
{
    /// <summary>Command-line name.</summary>
    public const string AlgorithmName = "optimaldesign";

    /// <summary>Default cap on Frank–Wolfe iterations per prompt.</summary>
    public const int DefaultDesignIterations = 1000;

    private readonly long? _pairs, _pairsPerPrompt;
    private readonly double _lambda, _coverageSlack;
    private readonly double? _pilotMiss;
    private readonly int _designIterations;

    /// <summary>Reads and validates the algo-params (<c>epsilon, delta, rmax, pairs, pairs-per-prompt, design-iterations,
    /// lambda, coverage-slack, pilot-miss</c>).</summary>
    public OptimalDesign(IReadOnlyDictionary<string, string>? algoParams = null)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, algoParams);
        Target = LearningTarget.Read(p);
        _pairs = p.IntegerOrNull("pairs", 1, int.MaxValue);
        _pairsPerPrompt = p.IntegerOrNull("pairs-per-prompt", 1, int.MaxValue);
        _designIterations = p.Integer("design-iterations", DefaultDesignIterations, 1, 1_000_000);
        _lambda = p.Real("lambda", SpannerSampling.DefaultLambda, 0, 1e6, minExclusive: true);
        _coverageSlack = p.Real("coverage-slack", SpannerSampling.DefaultCoverageSlack, 1, 1e6);
        _pilotMiss = p.RealOrNull("pilot-miss", 0, 0.5, minExclusive: true);
        p.RejectUnknown();
    }

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public LearningTarget Target { get; }

    /// <inheritdoc />
    public AlgorithmOutput Run(ILearnerEnvironment env, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken)
    {
        if (!env.CanEnumerate)
            throw new InputException("optimaldesign: needs an enumerable instance (it enumerates Y(x) for every prompt)");
        int d = env.Dimension;
        long pairs = _pairs ?? (env.Meter.BudgetData is long bd ? bd / 2 : Target.InformativePairs(d, env.Beta));
        long perPrompt = _pairsPerPrompt ?? 4L * d;
        var ridge = new RidgeRegression(d, _lambda);
        var designs = new Dictionary<int, (Response[] Responses, int Anchor, double[] Weights)>();
        var v = new double[d];
        var status = RunStatus.Ok;
        long done = 0, enumerated = 0;
        double maxG = 0;
        try
        {
            while (done < pairs)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var x = env.DrawPrompt(rng);
                if (!designs.TryGetValue(x.Index, out var design))
                {
                    var all = env.Enumerate(x);
                    enumerated += all.Length;
                    int anchor = 0;
                    for (int y = 1; y < all.Length; y++) if (all[y].LogRefProb > all[anchor].LogRefProb) anchor = y;
                    var (weights, g) = GOptimalDesign(env, all, anchor, _designIterations);
                    maxG = Math.Max(maxG, g);
                    design = (all, anchor, weights);
                    designs[x.Index] = design;
                }
                long n = Math.Min(perPrompt, pairs - done);
                var counts = Round(design.Weights, n);
                var y0 = design.Responses[design.Anchor];
                for (int y = 0; y < counts.Length; y++)
                {
                    for (long c = 0; c < counts[y]; c++)
                    {
                        if (env.Meter.RemainingData < 2) throw new BudgetExhaustedException(BudgetKind.Data);
                        double r1 = env.Query(design.Responses[y]);
                        double r0 = env.Query(y0);
                        TensorPrimitives.Subtract(env.Features(design.Responses[y]), env.Features(y0), v);
                        ridge.Add(v, r1 - r0);
                        done++;
                    }
                }
                progress?.Report((double)done / pairs);
            }
        }
        catch (BudgetExhaustedException)
        {
            status = RunStatus.BudgetExhausted;
        }
        var theta = new double[d];
        ridge.Solve(theta);

        // Exact coverage of π_θ̂ on the enumerated prompts: max_y exp(s(y) − log Σ_y' π_ref(y') e^{s(y')}), s = ⟨θ̂,φ⟩/β.
        double logCoverage = 0;
        foreach (var (responses, _, _) in designs.Values)
        {
            var s = new double[responses.Length];
            var logits = new double[responses.Length];
            for (int y = 0; y < responses.Length; y++)
            {
                s[y] = TensorPrimitives.Dot(env.Features(responses[y]), theta) / env.Beta;
                logits[y] = responses[y].LogRefProb + s[y];
            }
            logCoverage = Math.Max(logCoverage, TensorPrimitives.Max(s) - LogMath.LogSumExp(logits));
        }
        double coverage = _coverageSlack * Math.Exp(Math.Min(logCoverage, 700));
        double pilotMiss = _pilotMiss ?? Target.DefaultPilotMiss;
        var sampler = EnvelopeSampler.ForCoverage(env.Beta, Math.Min(coverage, EnvelopeSampler.MaxCalls), pilotMiss, Target.Delta);
        progress?.Report(1);
        var diagnostics = new Dictionary<string, double>
        {
            ["pairs"] = done,
            ["pairs_planned"] = pairs,
            ["prompts_enumerated"] = designs.Count,
            ["responses_enumerated"] = enumerated,
            ["design_max_g_over_d"] = maxG / d,
            ["lambda"] = _lambda,
            ["output_coverage"] = coverage,
            ["pilot_miss"] = pilotMiss,
            ["epsilon"] = Target.Epsilon,
            ["delta"] = Target.Delta,
        };
        return new AlgorithmOutput(new SoftmaxOutputPolicy(theta, sampler), status, diagnostics);
    }

    /// <summary>
    /// Frank–Wolfe on log det A(w) over v_y = φ(y) − φ(anchor) (see the class summary). Returns the design and the final
    /// max_y g_y (≈ dim span{v_y} ≤ d at the optimum, by Kiefer–Wolfowitz).
    /// </summary>
    internal static (double[] Weights, double MaxG) GOptimalDesign(ILearnerEnvironment env, Response[] responses, int anchor, int iterations)
    {
        int n = responses.Length, d = env.Dimension;
        var v = new double[n * d];
        var phi0 = env.Features(responses[anchor]);
        for (int y = 0; y < n; y++) TensorPrimitives.Subtract(env.Features(responses[y]), phi0, v.AsSpan(y * d, d));
        var w = new double[n];
        Array.Fill(w, 1.0 / n);

        // A = uniform design + λ₀I; M = A⁻¹ by Cholesky.
        var a = new double[d * d];
        for (int y = 0; y < n; y++)
        {
            var vy = v.AsSpan(y * d, d);
            for (int i = 0; i < d; i++)
                if (vy[i] != 0) TensorPrimitives.MultiplyAdd(vy, vy[i] / n, a.AsSpan(i * d, d), a.AsSpan(i * d, d));
        }
        double trace = 0;
        for (int i = 0; i < d; i++) trace += a[i * d + i];
        double lambda0 = trace > 0 ? 1e-6 * trace / d : 1;
        for (int i = 0; i < d; i++) a[i * d + i] += lambda0;
        var m = new double[d * d];
        Cholesky.Factor(a, d);
        Cholesky.Invert(a, d, m);

        var g = new double[n];
        var u = new double[d];
        for (int y = 0; y < n; y++)
        {
            var vy = v.AsSpan(y * d, d);
            MatVec(m, vy, u, d);
            g[y] = TensorPrimitives.Dot(vy, u);
        }
        for (int it = 0; it < iterations; it++)
        {
            int best = TensorPrimitives.IndexOfMax(g);
            double gBest = g[best];
            if (gBest <= 1.01 * d || gBest <= 1) break;
            double gamma = (gBest / d - 1) / (gBest - 1);
            // A' = (1−γ)A + γ v vᵀ ⇒ A'⁻¹ = [M − c·u uᵀ]/(1−γ), u = M v, c = γ/((1−γ) + γ·g⁺).
            var vb = v.AsSpan(best * d, d);
            MatVec(m, vb, u, d);
            double c = gamma / ((1 - gamma) + gamma * gBest);
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) m[i * d + j] = (m[i * d + j] - c * u[i] * u[j]) / (1 - gamma);
            for (int y = 0; y < n; y++)
            {
                double vu = TensorPrimitives.Dot(v.AsSpan(y * d, d), u);
                g[y] = (g[y] - c * vu * vu) / (1 - gamma);
            }
            TensorPrimitives.Multiply(w, 1 - gamma, w);
            w[best] += gamma;
        }
        return (w, TensorPrimitives.Max(g));
    }

    /// <summary>n pairs allocated by w: ⌊n·w_y⌋, then one more to the largest remainders.</summary>
    internal static long[] Round(double[] w, long n)
    {
        var counts = new long[w.Length];
        long given = 0;
        var remainder = new double[w.Length];
        for (int y = 0; y < w.Length; y++)
        {
            double share = n * w[y];
            counts[y] = (long)Math.Floor(share);
            remainder[y] = share - counts[y];
            given += counts[y];
        }
        foreach (int y in Enumerable.Range(0, w.Length).OrderByDescending(y => remainder[y]).Take((int)Math.Max(0, n - given)))
            counts[y]++;
        return counts;
    }

    private static void MatVec(double[] m, ReadOnlySpan<double> x, Span<double> result, int d)
    {
        for (int i = 0; i < d; i++) result[i] = TensorPrimitives.Dot(m.AsSpan(i * d, d), x);
    }
}
