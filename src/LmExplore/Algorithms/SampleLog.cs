using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Algorithms;

/// <summary>
/// Remembers a thinned, uniform record of the π_ref samples an algorithm drew, plus every response it chose to
/// keep (e.g. spanner pairs), so that once θ̂ is known it can estimate the coverage its output sampler must reach
/// from samples it already paid for. Thinning is systematic: when the buffer is full every other entry is dropped
/// and the stride doubles, so recording costs a counter per sample and memory stays bounded whatever T_comp.
/// </summary>
internal sealed class SampleLog
{
    /// <summary>Most uniform samples kept.</summary>
    public const int Capacity = 1 << 15;
    private readonly List<Response> _uniform = new(Capacity);
    private readonly List<Response> _kept = [];
    private long _seen, _stride = 1;

    /// <summary>Records one π_ref sample.</summary>
    public void Add(Response response)
    {
        if ((_seen++ & (_stride - 1)) != 0) return; // the stride is a power of two
        Record(response);
    }

    /// <summary>Records π_ref samples in the order drawn: the same records as one <see cref="Add"/> per sample, but
    /// jumping from one recorded sample to the next (once thinned, most of a block is only counted).</summary>
    public void AddMany(ReadOnlySpan<Response> responses)
    {
        int i = 0;
        while (true)
        {
            long skip = (_stride - (_seen & (_stride - 1))) & (_stride - 1); // samples before the next one recorded
            if (skip >= responses.Length - i)
            {
                _seen += responses.Length - i;
                return;
            }
            i += (int)skip;
            _seen += skip + 1;
            Record(responses[i++]);
        }
    }

    private void Record(Response response)
    {
        if (_uniform.Count == Capacity)
        {
            int w = 0;
            for (int r = 0; r < _uniform.Count; r += 2) _uniform[w++] = _uniform[r];
            _uniform.RemoveRange(w, _uniform.Count - w);
            _stride *= 2;
        }
        _uniform.Add(response);
    }

    /// <summary>The thinned uniform record, oldest first.</summary>
    internal IReadOnlyList<Response> Records => _uniform;

    /// <summary>Records a response worth remembering whatever the thinning (it still counts once in <see cref="Add"/> if sampled).</summary>
    public void Keep(Response response) => _kept.Add(response);

    /// <summary>
    /// M̂ = max over remembered responses y of exp(s(y))/Ẑ_x(y), s = ⟨θ,φ⟩/β: the empirical coverage of π_θ. Each uniform
    /// record stands for W samples (W the current thinning stride), and y itself counts as one more draw at its prompt:
    /// <code>Ẑ_x(y) = (W·Σ_{records at x} e^{s} + e^{s(y)}) / (W·K_x + 1).</code>
    /// A response seen once among T draws thus gets ratio ≈ min(e^{s(y)}/Ẑ_rest, T + 1) — what one sighting in T draws
    /// says about its mass — instead of e^{s(y)}/Ẑ_rest, which a normalizer that never saw it would inflate without
    /// bound. Since Z_x ≥ π_ref(y)·e^{s(y)}, the ratio is also capped at 1/π_ref(y) (log π_ref comes with every sample, as
    /// from a real language model). At least 1.
    /// </summary>
    public double CoverageEstimate(ILearnerEnvironment environment, ReadOnlySpan<double> theta)
    {
        if (_uniform.Count == 0 && _kept.Count == 0) return 1;
        double beta = environment.Beta;
        // Per-prompt log-sums of e^{s} over the uniform records, indexed by prompt (indices are small and dense); each
        // record's score is computed once. Called every round by the proper methods, so this is kept allocation-light.
        int prompts = 0;
        foreach (var y in _uniform) prompts = Math.Max(prompts, y.PromptIndex + 1);
        foreach (var y in _kept) prompts = Math.Max(prompts, y.PromptIndex + 1);
        if (_sums.Length < prompts) { _sums = new LogMath.Accumulator[prompts]; _counts = new int[prompts]; }
        Array.Clear(_sums, 0, prompts);
        Array.Clear(_counts, 0, prompts);
        if (_scores.Length < _uniform.Count) _scores = new double[Capacity];
        for (int i = 0; i < _uniform.Count; i++)
        {
            var y = _uniform[i];
            double sy = Score(environment, y, theta, beta);
            _scores[i] = sy;
            _sums[y.PromptIndex].Add(sy);
            _counts[y.PromptIndex]++;
        }
        double logW = Math.Log(_stride);
        double best = 0;
        for (int i = 0; i < _uniform.Count; i++) best = Math.Max(best, LogRatio(_uniform[i], _scores[i]));
        foreach (var y in _kept) best = Math.Max(best, LogRatio(y, Score(environment, y, theta, beta)));
        return Math.Exp(Math.Min(best, 700));

        double LogRatio(Response y, double s)
        {
            int count = _counts[y.PromptIndex];
            double logSum = count == 0 ? double.NegativeInfinity : logW + _sums[y.PromptIndex].Value;
            // Z_x ≥ π_ref(y)·e^{s(y)}: the ratio can never exceed 1/π_ref(y), which the oracle returned with y.
            return Math.Min(s + Math.Log(_stride * (double)count + 1) - LogMath.LogAddExp(logSum, s), -y.LogRefProb);
        }
    }

    private LogMath.Accumulator[] _sums = [];
    private int[] _counts = [];
    private double[] _scores = [];

    private static double Score(ILearnerEnvironment environment, Response y, ReadOnlySpan<double> theta, double beta) =>
        System.Numerics.Tensors.TensorPrimitives.Dot(environment.Features(y), theta) / beta;
}

/// <summary>Forwards every call to the learner's environment and records each π_ref sample in a <see cref="SampleLog"/>.</summary>
internal sealed class RecordingEnvironment(ILearnerEnvironment inner, SampleLog log) : ILearnerEnvironment
{
    public Meter Meter => inner.Meter;
    public double Beta => inner.Beta;
    public int Dimension => inner.Dimension;
    public bool CanEnumerate => inner.CanEnumerate;
    public Prompt DrawPrompt(Rng rng) => inner.DrawPrompt(rng);
    public ReadOnlySpan<double> Features(Response response) => inner.Features(response);
    public double Query(Response response) => inner.Query(response);
    public Response[] Enumerate(Prompt prompt) => inner.Enumerate(prompt);

    public Response Sample(Prompt prompt, Rng rng)
    {
        var y = inner.Sample(prompt, rng);
        log.Add(y);
        return y;
    }

    public void SampleMany(Prompt prompt, Rng rng, Span<Response> destination)
    {
        inner.SampleMany(prompt, rng, destination);
        log.AddMany(destination);
    }
}
