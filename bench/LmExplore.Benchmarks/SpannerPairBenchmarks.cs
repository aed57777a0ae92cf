using BenchmarkDotNet.Attributes;
using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Benchmarks;

/// <summary>
/// One spanner candidate pair of SpannerSampling's Phase 1 (targets: ≥ 20× a vectorized numpy reference, ≤ 14 ns at
/// d = 4 and ≤ 30 ns at d = 16): two draws y, y' ~ π_ref(·|x) through the metered oracle, the relative feature
/// v = φ(x,y) − φ(x,y') and the elliptic-norm test ‖v‖²_{Σ⁻¹} &gt; ν². One operation = one pair. Σ holds 4d accepted
/// pairs (λ = 0.1) and ν² is set so that no pair passes: the scan runs through every candidate, which is Phase 1's
/// steady state once the spanner is nearly complete. |Y| = 2 000 (the needle instances), Zipf π_ref.
/// <see cref="PairScan"/> is the code SpannerSampling runs; <see cref="PairByPair"/> the per-pair loop it replaced,
/// kept as the reference measured in the same run.
/// </summary>
[MemoryDiagnoser, MinColumn, MedianColumn]
public class SpannerPair
{
    private const int Pairs = 1 << 16;
    private EnumerableEnvironment _env = null!;
    private EllipticNorm _sigma = null!;
    private Prompt _prompt;
    private Rng _rng = null!;
    private double[] _v = null!;
    private SpannerPairScan _scan = null!;

    [Params(4, 16)]
    public int D { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var inst = BenchData.OnePrompt(11, 2000, D, beta: 0.1, thetaNorm: 0.5);
        _env = new EnumerableEnvironment(inst, new Meter(), new Rng(12));
        _rng = new Rng(13);
        _prompt = _env.DrawPrompt(_rng);
        _sigma = new EllipticNorm(D, 0.1);
        _v = new double[D];
        for (int i = 0; i < 4 * D; i++)
        {
            var a = _env.Features(_env.Sample(_prompt, _rng));
            var b = _env.Features(_env.Sample(_prompt, _rng));
            for (int k = 0; k < D; k++) _v[k] = a[k] - b[k];
            _sigma.Add(_v);
        }
        _scan = new SpannerPairScan(D, new SampleLog());
    }

    /// <summary>The scan SpannerSampling runs, recording its draws in a <see cref="SampleLog"/> as SpannerSampling does
    /// (batched draws, the test vectorized across pairs).</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public long PairScan()
    {
        var found = _scan.Scan(_env, _prompt, _rng, _sigma, double.MaxValue, Pairs, Pairs);
        return found.PairsDrawn;
    }

    /// <summary>Breakdown: only the draws of <see cref="PairScan"/> (blocks of 64 pairs through SampleMany).</summary>
    [Benchmark(OperationsPerInvoke = Pairs)]
    public int DrawsOnly()
    {
        Span<Response> draws = stackalloc Response[2 * SpannerPairScan.MaxBlock];
        int acc = 0;
        for (int k = 0; k < Pairs; k += SpannerPairScan.MaxBlock)
        {
            _env.SampleMany(_prompt, _rng, draws);
            acc += draws[0].Index;
        }
        return acc;
    }

    /// <summary>Reference: one pair at a time, as Phase 1 did before (two oracle calls, difference, quadratic form).</summary>
    [Benchmark(OperationsPerInvoke = Pairs, Baseline = true)]
    public double PairByPair()
    {
        double acc = 0;
        var v = _v.AsSpan();
        for (int k = 0; k < Pairs; k++)
        {
            var y1 = _env.Sample(_prompt, _rng);
            var y2 = _env.Sample(_prompt, _rng);
            var a = _env.Features(y1);
            var b = _env.Features(y2);
            for (int i = 0; i < v.Length; i++) v[i] = a[i] - b[i];
            acc += _sigma.NormSquared(v) > double.MaxValue ? 1 : 0;
        }
        return acc;
    }
}
