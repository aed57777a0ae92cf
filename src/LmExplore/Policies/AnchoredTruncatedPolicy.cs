using System.Numerics.Tensors;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Policies;

/// <summary>
/// SpannerSampling's output: draw an anchor y' ~ π_ref(x), then y ~ EnvelopeSampler(f_{θ̂,y'}) with
/// f_{θ̂,y'}(y) = ⟨θ̂, φ(y) − φ(y')⟩ · 1[‖φ(y) − φ(y')‖_{Σ_span⁻¹} ≤ ν]. Its target, with exact sampling, is
/// <code>π̂(y|x) = Σ_{y'} π_ref(y'|x) · π̄(y|x,y'),   π̄(·|x,y') ∝ π_ref(·|x)·exp(f_{θ̂,y'}/β).</code>
/// <see cref="Law"/> computes the law of the sampler as it really runs — per anchor the exact law of
/// <see cref="EnvelopeSampler"/> (<see cref="EnvelopeLaw"/>), mixed over anchors — exactly when
/// |Y(x)| ≤ <see cref="ExactLimit"/> (all anchors, O(|Y|²·d²) per prompt), and above that by Monte Carlo over
/// <see cref="MonteCarloAnchors"/> anchors y' ~ π_ref in <see cref="MonteCarloBatches"/> batches. The law's truncation
/// test is the sampler's (<see cref="TruncatedAnchoredScore"/>): vᵀΣ_span⁻¹v of v = φ(y) − φ(y') by
/// <see cref="QuadraticForm"/>, all responses of an anchor at once in SIMD lanes, bit for bit the number the sampler
/// compares with ν² — so the law cannot put a response on the other side of the ν boundary than the draws do.
/// </summary>
public sealed class AnchoredTruncatedPolicy : IOutputPolicy
{
    /// <summary>Default largest |Y(x)| whose anchors are enumerated exactly.</summary>
    public const int DefaultExactLimit = 4096;
    /// <summary>Anchors drawn per prompt when |Y(x)| exceeds <see cref="ExactLimit"/>.</summary>
    public const int MonteCarloAnchors = 256;
    /// <summary>Batches of the Monte Carlo anchors, for the confidence interval.</summary>
    public const int MonteCarloBatches = 8;

    private readonly double[] _theta;
    private readonly double[] _sigmaInverse;
    private readonly double _nu;
    private readonly ulong _monteCarloSeed;
    private double[]? _scratch, _anchorFeatures;
    private EnumerableInstance? _cachedFor;
    private OutputLaw? _cached;

    /// <summary>Creates the policy from θ̂, Σ_span⁻¹ (row-major d×d; both copied), ν and the output sampler;
    /// <paramref name="monteCarloSeed"/> fixes the anchors of a Monte Carlo evaluation.</summary>
    public AnchoredTruncatedPolicy(ReadOnlySpan<double> theta, ReadOnlySpan<double> sigmaInverse, double nu,
        EnvelopeSampler sampler, ulong monteCarloSeed, int exactLimit = DefaultExactLimit)
    {
        if (exactLimit < 0) throw new ArgumentOutOfRangeException(nameof(exactLimit));
        if (sigmaInverse.Length != theta.Length * theta.Length) throw new ArgumentException("Σ⁻¹ must be d×d");
        if (!(nu > 0)) throw new ArgumentOutOfRangeException(nameof(nu), "ν must be positive");
        ExactLimit = exactLimit;
        _theta = theta.ToArray();
        _sigmaInverse = sigmaInverse.ToArray();
        _nu = nu;
        Sampler = sampler;
        _monteCarloSeed = monteCarloSeed;
    }

    /// <summary>θ̂.</summary>
    public ReadOnlySpan<double> Theta => _theta;
    /// <summary>Largest |Y(x)| whose anchors are enumerated exactly.</summary>
    public int ExactLimit { get; }
    /// <summary>The output sampler (β, m, N).</summary>
    public EnvelopeSampler Sampler { get; }

    /// <summary>
    /// Draws one response as the output policy does: an anchor y' ~ π_ref(x) (one oracle call), then EnvelopeSampler
    /// with the truncated score f_{θ̂,y'}. <c>OracleCalls</c> includes the anchor. Not thread-safe (scratch buffers).
    /// </summary>
    public SamplerDraw Sample(ILearnerEnvironment environment, Prompt prompt, Rng rng)
    {
        var anchor = environment.Sample(prompt, rng);
        _scratch ??= new double[_theta.Length];
        _anchorFeatures ??= new double[_theta.Length];
        environment.Features(anchor).CopyTo(_anchorFeatures);
        var f = new TruncatedAnchoredScore(environment, _theta, _anchorFeatures, _sigmaInverse, _nu * _nu, _scratch);
        var draw = Sampler.Sample(prompt, environment, f, rng);
        return draw with { OracleCalls = draw.OracleCalls + 1 };
    }

    /// <inheritdoc />
    public OutputLaw Law(EnumerableInstance instance)
    {
        lock (_theta)
        {
            if (ReferenceEquals(_cachedFor, instance) && _cached is not null) return _cached;
            _cached = Compute(instance);
            _cachedFor = instance;
            return _cached;
        }
    }

    private OutputLaw Compute(EnumerableInstance instance)
    {
        if (instance.Dimension != _theta.Length)
            throw new ArgumentException($"policy has dimension {_theta.Length}, instance has {instance.Dimension}");
        var rng = new Rng(_monteCarloSeed);
        int prompts = instance.Prompts.Count;
        var sampler = new double[prompts][];
        var target = new double[prompts][];
        double[][][]? batches = null;
        double cost = 0, acceptance = 0, failure = 0, coverageMax = 0, totalWeight = 0;
        for (int x = 0; x < prompts; x++)
        {
            var prompt = instance.Prompts[x];
            bool exact = prompt.ResponseCount <= ExactLimit;
            var r = LawOfPrompt(prompt, instance.Beta, exact, rng.Split((ulong)x));
            sampler[x] = r.Sampler;
            target[x] = r.Target;
            if (!exact)
            {
                batches ??= Enumerable.Range(0, MonteCarloBatches).Select(_ => new double[prompts][]).ToArray();
            }
            if (batches is not null)
            {
                // Prompts evaluated exactly contribute the same law to every batch.
                for (int b = 0; b < MonteCarloBatches; b++) batches[b][x] = r.Batches?[b] ?? r.Sampler;
            }
            coverageMax = Math.Max(coverageMax, r.TargetCoverage);
            if (prompt.Weight <= 0) continue;
            cost += prompt.Weight * r.Cost;
            acceptance += prompt.Weight * r.Acceptance;
            failure += prompt.Weight * r.Failure;
            totalWeight += prompt.Weight;
        }
        if (batches is not null)
        {
            // An exact prompt seen after the first Monte Carlo one was filled above; fill those seen before it.
            for (int x = 0; x < prompts; x++)
                for (int b = 0; b < MonteCarloBatches; b++) batches[b][x] ??= sampler[x];
        }
        var diagnostics = new Dictionary<string, double>
        {
            ["output_pilot_samples"] = Sampler.PilotSamples,
            ["output_max_proposals"] = Sampler.MaxProposals,
            ["output_acceptance_mean"] = acceptance / totalWeight,
            ["output_sampler_failure_mean"] = failure / totalWeight,
            ["output_target_coverage_max"] = coverageMax,
            ["output_mc_anchors"] = batches is null ? 0 : MonteCarloAnchors,
        };
        return new OutputLaw(new TabularPolicy(sampler), new TabularPolicy(target), cost / totalWeight,
            batches?.Select(b => new TabularPolicy(b)).ToArray(), diagnostics);
    }

    private readonly record struct PromptLaw(double[] Sampler, double[] Target, double[][]? Batches, double Cost, double Acceptance,
        double Failure, double TargetCoverage);

    private PromptLaw LawOfPrompt(EnumerablePrompt prompt, double beta, bool exact, Rng rng)
    {
        int n = prompt.ResponseCount, d = _theta.Length;
        double nuSquared = _nu * _nu;
        // Features coordinate-major, phi[j·stride + y] = φ_y[j], each coordinate padded to the lanes EvaluateMany reads;
        // s(y) = ⟨θ̂, φ(y)⟩/β. (A Σ_span⁻¹ that rounding left marginally indefinite needs no special case: a form that
        // comes out ≤ ν², negative or not, counts as inside, in the sampler as here.)
        int stride = QuadraticForm.Padded(n);
        var phiColumns = new double[(long)d * stride];
        var s = new double[n];
        var refProb = new double[n];
        var logRef = prompt.LogRefProbs;
        for (int y = 0; y < n; y++)
        {
            var phi = prompt.FeatureRow(y);
            for (int j = 0; j < d; j++) phiColumns[(long)j * stride + y] = phi[j];
            s[y] = TensorPrimitives.Dot(phi, _theta) / beta;
            refProb[y] = Math.Exp(logRef[y]);
        }
        // Inside the ν-ball of an anchor a, g(y) = s(y) − s(a): the order by s is the order by g for every anchor, so
        // the per-anchor order of g is this global order with the outside block (g = 0) spliced in — O(|Y|), no sort.
        var bySDescending = OutputLaws.DescendingOrder(s);

        var law = new EnvelopeLaw(n);
        var dist = new double[n];
        var diff = new double[(long)d * stride];
        var g = new double[n];
        var e = new double[n];
        var order = new int[n];
        var inside = new bool[n];
        var samplerMass = new double[n];
        var targetMass = new double[n];
        int perBatch = MonteCarloAnchors / MonteCarloBatches;
        var batchMass = exact ? null : Enumerable.Range(0, MonteCarloBatches).Select(_ => new double[n]).ToArray();
        int anchors = exact ? n : MonteCarloAnchors;
        double cost = 0, acceptance = 0, failure = 0, coverage = 0, weightTotal = 0;
        // Anchors whose ν-ball holds every response have g = s − s(a): the same law up to a shift of g, which neither
        // the envelope sampler nor its target sees. Their weight is pooled and that law computed once.
        double sharedWeight = 0;
        var sharedBatchWeight = new double[MonteCarloBatches];
        void AddAnchorLaw(ReadOnlySpan<int> anchorOrder, double weight, int batch)
        {
            var summary = law.Accumulate(g, refProb, anchorOrder, Sampler.PilotSamples, Sampler.MaxProposals, weight, samplerMass);
            if (batchMass is not null)
            {
                if (batch >= 0) law.Accumulate(g, refProb, anchorOrder, Sampler.PilotSamples, Sampler.MaxProposals, 1.0 / perBatch, batchMass[batch]);
                else
                    for (int b = 0; b < MonteCarloBatches; b++)
                        if (sharedBatchWeight[b] > 0)
                            law.Accumulate(g, refProb, anchorOrder, Sampler.PilotSamples, Sampler.MaxProposals, sharedBatchWeight[b], batchMass[b]);
            }
            cost += weight * (1 + Sampler.PilotSamples + summary.Proposals);
            acceptance += weight * summary.Acceptance;
            failure += weight * summary.Failure;

            // Target π̄(·|a) ∝ π_ref·e^g, and its coverage e^{max g}/Σ π_ref e^g.
            TensorPrimitives.Add(logRef, g, e);
            double maxE = TensorPrimitives.Max(e);
            TensorPrimitives.Subtract(e, maxE, e);
            TensorPrimitives.Exp(e, e);
            double sum = TensorPrimitives.Sum(e);
            TensorPrimitives.MultiplyAdd(e, weight / sum, targetMass, targetMass);
            coverage = Math.Max(coverage, Math.Exp(TensorPrimitives.Max(g) - maxE - Math.Log(sum)));
        }

        for (int k = 0; k < anchors; k++)
        {
            int a = exact ? k : prompt.RefSampler.Sample(rng);
            double weight = exact ? refProb[a] : 1.0 / MonteCarloAnchors;
            if (weight == 0) continue;
            weightTotal += weight;

            // v = φ(y) − φ(a) for every y (the sampler's subtraction, exact per coordinate), then vᵀΣ_span⁻¹v.
            for (int j = 0; j < d; j++)
            {
                var column = new ReadOnlySpan<double>(phiColumns, j * stride, n);
                TensorPrimitives.Subtract(column, column[a], diff.AsSpan(j * stride, n));
            }
            QuadraticForm.EvaluateMany(_sigmaInverse, d, diff, stride, dist);
            if (TensorPrimitives.Max(dist) <= nuSquared)
            {
                sharedWeight += weight;
                if (!exact) sharedBatchWeight[k / perBatch] += 1.0 / perBatch;
                continue;
            }
            double sa = s[a];
            for (int y = 0; y < n; y++)
            {
                inside[y] = dist[y] <= nuSquared;
                g[y] = inside[y] ? s[y] - sa : 0;
            }
            // Splice: inside responses above the anchor's score, then every g = 0 (outside, or tied with the anchor),
            // then inside responses below — each part in descending s.
            int o = 0;
            foreach (int y in bySDescending) if (inside[y] && g[y] > 0) order[o++] = y;
            foreach (int y in bySDescending) if (g[y] == 0) order[o++] = y;
            foreach (int y in bySDescending) if (inside[y] && g[y] < 0) order[o++] = y;
            AddAnchorLaw(order, weight, exact ? -1 : k / perBatch);
        }
        if (sharedWeight > 0)
        {
            s.CopyTo(g, 0);
            AddAnchorLaw(bySDescending, sharedWeight, -1);
        }
        return new PromptLaw(OutputLaws.ToLogProbs(samplerMass), OutputLaws.ToLogProbs(targetMass),
            batchMass?.Select(m => OutputLaws.ToLogProbs(m)).ToArray(),
            cost / weightTotal, acceptance / weightTotal, failure / weightTotal, coverage);
    }
}
