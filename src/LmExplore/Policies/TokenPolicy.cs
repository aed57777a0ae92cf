using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Policies;

/// <summary>
/// The law of a token-level sampler whose next-token law depends on the prefix only through (h, s) — true of every
/// policy built from token features φ_h(s,a): <c>LogProbs[((h−1)·S + s)·V + a]</c> = log q_h(a|s), and
/// <c>CallsPerStep[(h−1)·S + s]</c> the expected token calls the sampler spends to draw a_h at state s.
/// </summary>
/// <param name="LogProbs">log q_h(a|s), H × S × V, row-major.</param>
/// <param name="CallsPerStep">Expected token calls per step, H × S.</param>
/// <param name="Diagnostics">Extra numbers (snake_case keys).</param>
public sealed record TokenLaw(double[] LogProbs, double[] CallsPerStep, IReadOnlyDictionary<string, double> Diagnostics);

/// <summary>A token-level output policy: a sampler a user calls through the token oracle, and its exact law by (h, s).</summary>
public interface ITokenOutputPolicy
{
    /// <summary>Draws a response a_{1:H} for prompt x exactly as a user would, writing the tokens to
    /// <paramref name="tokens"/> (length H); returns the token calls it spent.</summary>
    long Sample(ITokenLearnerEnvironment environment, Prompt prompt, Rng rng, Span<int> tokens);

    /// <summary>The law of <see cref="Sample"/> on <paramref name="instance"/> — pilots, caps, failure branches included.</summary>
    TokenLaw Law(AutoregressiveInstance instance);

    /// <summary>The law the sampler aims at (diagnostic <c>suboptimality_target</c>).</summary>
    TokenLaw TargetLaw(AutoregressiveInstance instance);
}

/// <summary>How one layer of a <see cref="TruncatedTokenPolicy"/> draws its token.</summary>
/// <param name="PilotSamples">m of the envelope sampler (ignored with distributions).</param>
/// <param name="MaxProposals">N of the envelope sampler (ignored with distributions).</param>
public readonly record struct TokenSamplerSize(long PilotSamples, long MaxProposals);

/// <summary>
/// MTSS's output (and roll-out) policy: per layer h a parameter θ_h ∈ R^D, an optional Σ_h⁻¹ for truncation and a
/// sampler. At a prefix of length h−1 it draws an anchor a' ~ π_ref, scores
/// <code>f_h(a) = ⟨θ_h, φ(a) − φ(a')⟩ · 1[‖φ(a) − φ(a')‖²_{Σ_h⁻¹} ≤ ν²]</code>
/// (<see cref="TruncatedAnchoredScore.Evaluate"/>, the score SpannerSampling's output uses on responses)
/// and draws a_h from π_ref·exp(f_h/β): with the envelope sampler (<see cref="EnvelopeSampler"/>'s loop, over next
/// tokens: pilot of m draws, at most N proposals, every draw one token call) or — when the oracle offers next-token
/// distributions — exactly from
/// the one distribution it paid for. Features depend on the prefix only through the model state, so the law of a step
/// depends only on (h, s): per state it is the mixture over anchors of <see cref="EnvelopeLaw"/> (or of the exact
/// π̄), and the law of the whole response is a Markov chain that LmExplore.Evaluation.TokenPolicyEvaluator scores by DP.
/// Layers are set one by one (MTSS learns them backward); an unset layer samples π_ref (θ = 0).
/// </summary>
public sealed class TruncatedTokenPolicy : ITokenOutputPolicy
{
    private readonly double[][] _theta;
    private readonly double[]?[] _sigmaInverse;
    private readonly EnvelopeSampler[] _sampler;
    private readonly double _nuSquared;
    private readonly double[] _anchor, _diff;
    private Token[] _distribution = [];
    private double[] _logits = [];

    /// <summary>A policy of <paramref name="horizon"/> layers over D-dimensional token features; every layer starts as π_ref.</summary>
    public TruncatedTokenPolicy(int horizon, int dimension, double beta, double nu, bool useDistributions)
    {
        if (!(beta > 0) || double.IsInfinity(beta)) throw new ArgumentOutOfRangeException(nameof(beta));
        if (!(nu > 0)) throw new ArgumentOutOfRangeException(nameof(nu));
        Horizon = horizon;
        Dimension = dimension;
        Beta = beta;
        Nu = nu;
        UseDistributions = useDistributions;
        _nuSquared = nu * nu;
        _theta = new double[horizon][];
        _sigmaInverse = new double[horizon][];
        _sampler = new EnvelopeSampler[horizon];
        for (int h = 0; h < horizon; h++) { _theta[h] = new double[dimension]; _sampler[h] = new EnvelopeSampler(beta, 1, 1); }
        _anchor = new double[dimension];
        _diff = new double[dimension];
    }

    /// <summary>H.</summary>
    public int Horizon { get; }
    /// <summary>D.</summary>
    public int Dimension { get; }
    /// <summary>β.</summary>
    public double Beta { get; }
    /// <summary>ν of the truncation.</summary>
    public double Nu { get; }
    /// <summary>Whether steps use the oracle's next-token distribution (one call, exact) instead of the envelope sampler.</summary>
    public bool UseDistributions { get; }

    /// <summary>θ_h (h = 1..H).</summary>
    public ReadOnlySpan<double> Theta(int h) => _theta[h - 1];

    /// <summary>Sets layer h (1..H): θ_h, Σ_h⁻¹ (row-major D×D, copied; null = no truncation) and the sampler size.</summary>
    public void SetLayer(int h, ReadOnlySpan<double> theta, ReadOnlySpan<double> sigmaInverse, TokenSamplerSize size)
    {
        if (theta.Length != Dimension) throw new ArgumentException("θ must have dimension D");
        if (size.PilotSamples < 1 || size.MaxProposals < 1) throw new ArgumentOutOfRangeException(nameof(size));
        theta.CopyTo(_theta[h - 1]);
        _sigmaInverse[h - 1] = sigmaInverse.IsEmpty ? null : sigmaInverse.ToArray();
        _sampler[h - 1] = new EnvelopeSampler(Beta, size.PilotSamples, size.MaxProposals);
    }

    /// <summary>The sampler size of layer h.</summary>
    public TokenSamplerSize Size(int h) => new(_sampler[h - 1].PilotSamples, _sampler[h - 1].MaxProposals);

    /// <summary>
    /// Draws the next token after <paramref name="prefix"/> with layer h = |prefix| + 1, returning it with
    /// <paramref name="logRatio"/> = f(a)/β − log Ẑ — the log ratio log π̄/π_ref of the anchored target, Ẑ exact with a
    /// distribution, otherwise the pilot's estimate (1/m)·Σ_j exp(f(a'_j)/β) — the token calls spent, the pilot's empirical
    /// coverage exp(max_j f/β)/Ẑ and the anchor a'.
    /// Not thread-safe (scratch buffers).
    /// </summary>
    public Token Step(ITokenLearnerEnvironment env, Prefix prefix, Rng rng, out double logRatio, out long calls, out double pilotCoverage, out Token anchor)
    {
        int h = prefix.Length + 1;
        var theta = _theta[h - 1];
        var sigmaInverse = _sigmaInverse[h - 1];
        double invBeta = 1 / Beta;
        if (UseDistributions)
        {
            int V = env.Vocab;
            if (_distribution.Length != V) { _distribution = new Token[V]; _logits = new double[V]; }
            env.NextDistribution(prefix, _distribution);
            calls = 1;
            anchor = _distribution[DrawCategorical(_distribution, rng, useScores: false)];
            env.Features(anchor).CopyTo(_anchor);
            var acc = new LogMath.Accumulator();
            for (int a = 0; a < V; a++)
            {
                _logits[a] = Score(env.Features(_distribution[a]), theta, sigmaInverse) * invBeta;
                acc.Add(_distribution[a].LogRefProb + _logits[a]);
            }
            int chosen = DrawCategorical(_distribution, rng, useScores: true);
            logRatio = _logits[chosen] - acc.Value;
            pilotCoverage = Math.Exp(MaxOf(_logits) - acc.Value);
            return _distribution[chosen];
        }

        anchor = env.Next(prefix, rng);
        env.Features(anchor).CopyTo(_anchor);
        var proposals = new TokenProposals(env, prefix, this, theta, sigmaInverse);
        var draw = _sampler[h - 1].Draw<Token, TokenProposals>(ref proposals, rng, estimateNormalizer: true);
        calls = 1 + draw.Calls;
        pilotCoverage = Math.Exp(draw.LogTau - draw.LogPilotMean);
        logRatio = draw.LogWeight - draw.LogPilotMean;
        return draw.Item;
    }

    /// <summary>The token level's proposals: a ~ π_ref(·|prefix) from the token oracle, scored by the truncated anchored
    /// score around the step's anchor.</summary>
    private readonly struct TokenProposals(ITokenLearnerEnvironment env, Prefix prefix, TruncatedTokenPolicy policy, double[] theta,
        double[]? sigmaInverse) : IEnvelopeProposals<Token>
    {
        public Token Draw(Rng rng) => env.Next(prefix, rng);
        public double Score(Token token) => policy.Score(env.Features(token), theta, sigmaInverse);
    }

    /// <inheritdoc />
    public long Sample(ITokenLearnerEnvironment environment, Prompt prompt, Rng rng, Span<int> tokens)
    {
        var prefix = environment.Start(prompt);
        long calls = 0;
        for (int h = 1; h <= Horizon; h++)
        {
            var token = Step(environment, prefix, rng, out _, out long c, out _, out _);
            calls += c;
            tokens[h - 1] = token.Id;
            prefix = environment.Append(token);
        }
        return calls;
    }

    /// <inheritdoc />
    public TokenLaw Law(AutoregressiveInstance instance) => ComputeLaw(instance, target: false);

    /// <inheritdoc />
    public TokenLaw TargetLaw(AutoregressiveInstance instance) => ComputeLaw(instance, target: true);

    /// <summary>
    /// Per (h, s): the mixture over anchors a' ~ π_ref(·|s) of the step's law given the anchor — <see cref="EnvelopeLaw"/>
    /// for the envelope sampler (pilot maximum, cap and failure branch included), the exact π̄ with distributions or for
    /// the target. Every score is <see cref="Step"/>'s (<see cref="TruncatedAnchoredScore.Evaluate"/>, weighed by 1/β as the
    /// sampler weighs it), so a token on the ν boundary is truncated in the law exactly when it is in the draws. Cost O(H·S·V²·D²).
    /// </summary>
    private TokenLaw ComputeLaw(AutoregressiveInstance inst, bool target)
    {
        int H = Horizon, S = inst.States, V = inst.Vocab, D = Dimension;
        if (TokenFeatures.Dimension(inst) != D) throw new ArgumentException($"the policy has D = {D}, the instance's token features {TokenFeatures.Dimension(inst)}");
        if (inst.Horizon != H) throw new ArgumentException($"the policy has H = {H}, the instance {inst.Horizon}");
        var features = TokenFeatures.Build(inst);
        var logProbs = new double[H * S * V];
        var calls = new double[H * S];
        var envelope = new EnvelopeLaw(V);
        var refProb = new double[V];
        var g = new double[V];
        var inner = new double[V];
        var law = new double[V];
        var diff = new double[D];
        var sortKeys = new double[V];
        var order = new int[V];
        bool exactSteps = target || UseDistributions;
        double invBeta = 1 / Beta, worstFailure = 0, meanAcceptance = 0;
        for (int h = 1; h <= H; h++)
        {
            var theta = _theta[h - 1];
            var sigmaInverse = _sigmaInverse[h - 1];
            var size = Size(h);
            for (int s = 0; s < S; s++)
            {
                var logRef = inst.LogRefRow(s);
                for (int a = 0; a < V; a++) refProb[a] = Math.Exp(logRef[a]);
                Array.Clear(law);
                double proposals = 0;
                for (int b = 0; b < V; b++)            // anchor a' = b
                {
                    double w = refProb[b];
                    if (w == 0) continue;
                    var anchorFeatures = features.AsSpan((s * V + b) * D, D);
                    // Step's score, the same function on the same numbers: g(a) = f(a)·(1/β) as the sampler weighs it.
                    for (int a = 0; a < V; a++)
                        g[a] = TruncatedAnchoredScore.Evaluate(features.AsSpan((s * V + a) * D, D), anchorFeatures, theta, sigmaInverse, _nuSquared, diff) * invBeta;
                    if (exactSteps)
                    {
                        var acc = new LogMath.Accumulator();
                        for (int a = 0; a < V; a++) acc.Add(logRef[a] + g[a]);
                        double lse = acc.Value;
                        for (int a = 0; a < V; a++) law[a] += w * Math.Exp(logRef[a] + g[a] - lse);
                    }
                    else
                    {
                        // Tokens by g descending (reused buffers: DescendingOrder's arrays, without its allocation).
                        for (int a = 0; a < V; a++) { sortKeys[a] = -g[a]; order[a] = a; }
                        Array.Sort(sortKeys, order);
                        Array.Clear(inner);
                        var summary = envelope.Accumulate(g, refProb, order, size.PilotSamples, size.MaxProposals, 1.0, inner);
                        for (int a = 0; a < V; a++) law[a] += w * inner[a];
                        proposals += w * summary.Proposals;
                        worstFailure = Math.Max(worstFailure, summary.Failure);
                        meanAcceptance += summary.Acceptance * w / (H * S);
                    }
                }
                double total = 0;
                for (int a = 0; a < V; a++) total += law[a];
                var row = logProbs.AsSpan(((h - 1) * S + s) * V, V);
                for (int a = 0; a < V; a++) row[a] = law[a] > 0 ? Math.Log(law[a] / total) : double.NegativeInfinity;
                calls[(h - 1) * S + s] = exactSteps ? 1 : 1 + size.PilotSamples + proposals;
            }
        }
        var diagnostics = new Dictionary<string, double>();
        if (!exactSteps)
        {
            diagnostics["output_worst_failure_probability"] = worstFailure;
            diagnostics["output_mean_acceptance"] = meanAcceptance;
        }
        return new TokenLaw(logProbs, calls, diagnostics);
    }

    /// <summary>f(a) around the current step's anchor (<see cref="_anchor"/>).</summary>
    private double Score(ReadOnlySpan<double> phi, double[] theta, double[]? sigmaInverse) =>
        TruncatedAnchoredScore.Evaluate(phi, _anchor, theta, sigmaInverse, _nuSquared, _diff);

    private int DrawCategorical(Token[] tokens, Rng rng, bool useScores)
    {
        double max = double.NegativeInfinity;
        for (int a = 0; a < tokens.Length; a++) max = Math.Max(max, tokens[a].LogRefProb + (useScores ? _logits[a] : 0));
        double total = 0;
        for (int a = 0; a < tokens.Length; a++) total += Math.Exp(tokens[a].LogRefProb + (useScores ? _logits[a] : 0) - max);
        double u = rng.NextDouble() * total, cumulative = 0;
        for (int a = 0; a < tokens.Length; a++)
        {
            cumulative += Math.Exp(tokens[a].LogRefProb + (useScores ? _logits[a] : 0) - max);
            if (u < cumulative) return a;
        }
        return tokens.Length - 1;
    }

    private static double MaxOf(double[] values)
    {
        double m = double.NegativeInfinity;
        foreach (double v in values) m = Math.Max(m, v);
        return m;
    }
}
