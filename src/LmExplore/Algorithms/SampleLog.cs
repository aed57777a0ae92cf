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
    /// <summary>A prompt needs this many kept samples for its own normalizer estimate; rarer prompts use the pooled one.</summary>
    public const int MinPerPrompt = 32;

    private readonly List<Response> _uniform = new(Capacity);
    private readonly List<Response> _kept = [];
    private long _seen, _stride = 1;

    /// <summary>Records one π_ref sample.</summary>
    public void Add(Response response)
    {
        if (_seen++ % _stride != 0) return;
        if (_uniform.Count == Capacity)
        {
            int w = 0;
            for (int r = 0; r < _uniform.Count; r += 2) _uniform[w++] = _uniform[r];
            _uniform.RemoveRange(w, _uniform.Count - w);
            _stride *= 2;
        }
        _uniform.Add(response);
    }

    /// <summary>Records a response worth remembering whatever the thinning (it still counts once in <see cref="Add"/> if sampled).</summary>
    public void Keep(Response response) => _kept.Add(response);

    /// <summary>
    /// M̂ = max over remembered responses y of exp(s(y))/Ẑ_x, s = ⟨θ,φ⟩/β, with Ẑ_x the mean of exp(s) over the
    /// uniform record at y's prompt (pooled over prompts when that prompt has fewer than <see cref="MinPerPrompt"/>):
    /// the empirical coverage of π_θ. At least 1.
    /// </summary>
    public double CoverageEstimate(ILearnerEnvironment environment, ReadOnlySpan<double> theta)
    {
        if (_uniform.Count == 0) return 1;
        double beta = environment.Beta;
        var byPrompt = new Dictionary<int, (LogMath.Accumulator Sum, int Count)>();
        var pooled = new LogMath.Accumulator();
        foreach (var y in _uniform)
        {
            double s = Score(environment, y, theta, beta);
            pooled.Add(s);
            byPrompt.TryGetValue(y.PromptIndex, out var entry);
            entry.Sum.Add(s);
            entry.Count++;
            byPrompt[y.PromptIndex] = entry;
        }
        double logPooled = pooled.Value - Math.Log(_uniform.Count);
        double LogZ(int prompt) => byPrompt.TryGetValue(prompt, out var e) && e.Count >= MinPerPrompt
            ? e.Sum.Value - Math.Log(e.Count) : logPooled;
        double best = 0;
        foreach (var y in _uniform) best = Math.Max(best, Score(environment, y, theta, beta) - LogZ(y.PromptIndex));
        foreach (var y in _kept) best = Math.Max(best, Score(environment, y, theta, beta) - LogZ(y.PromptIndex));
        return Math.Exp(Math.Min(best, 700));
    }

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
}
