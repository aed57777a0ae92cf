using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Benchmarks;

/// <summary>Shared builders: deterministic (seeded) random data, the same shapes the tests use.</summary>
internal static class BenchData
{
    /// <summary>Zipf(1.1) log-probabilities over n categories in random order (LM-like heavy tail).</summary>
    public static double[] ZipfLogProbs(Rng rng, int n)
    {
        var logits = new double[n];
        for (int i = 0; i < n; i++) logits[i] = -1.1 * Math.Log(i + 1);
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (logits[i], logits[j]) = (logits[j], logits[i]);
        }
        double lse = LogMath.LogSumExp(logits);
        for (int i = 0; i < n; i++) logits[i] -= lse;
        return logits;
    }

    /// <summary>n unit-norm random feature rows of dimension d, row-major.</summary>
    public static double[] UnitFeatures(Rng rng, int n, int d)
    {
        var f = new double[n * d];
        for (int y = 0; y < n; y++)
        {
            var row = f.AsSpan(y * d, d);
            for (int k = 0; k < d; k++) row[k] = rng.NextGaussian();
            TensorPrimitives.Divide(row, TensorPrimitives.Norm(row), row);
        }
        return f;
    }

    /// <summary>A random vector of norm <paramref name="norm"/>.</summary>
    public static double[] Vector(Rng rng, int d, double norm)
    {
        var v = new double[d];
        for (int k = 0; k < d; k++) v[k] = rng.NextGaussian();
        TensorPrimitives.Multiply(v, norm / TensorPrimitives.Norm(v), v);
        return v;
    }

    /// <summary>One-prompt instance with n responses at dimension d.</summary>
    public static EnumerableInstance OnePrompt(ulong seed, int n, int d, double beta, double thetaNorm)
    {
        var rng = new Rng(seed);
        var theta = Vector(rng, d, thetaNorm);
        var prompt = new EnumerablePrompt(1.0, ZipfLogProbs(rng, n), UnitFeatures(rng, n, d), d, theta);
        return new EnumerableInstance("bench", beta, theta, NoiseModel.None, [prompt]);
    }
}

/// <summary>Categorical sampling from π_ref with the alias table (target ≥ 20 M samples/s on one core).
/// One operation = one sample; the table is a Zipf π_ref over N responses.</summary>
[MemoryDiagnoser]
public class AliasSampling
{
    private const int Draws = 1 << 16;
    private AliasTable _table = null!;
    private Rng _rng = null!;

    /// <summary>N = |Y|: a cache-resident table (2 000, the needle instances' size) and one far larger than L2 (10⁶).</summary>
    [Params(2_000, 1_000_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _table = new AliasTable(BenchData.ZipfLogProbs(new Rng(1), N));
        _rng = new Rng(2);
    }

    [Benchmark(OperationsPerInvoke = Draws, Baseline = true)]
    public long Sample()
    {
        long sum = 0;
        for (int i = 0; i < Draws; i++) sum += _table.Sample(_rng);
        return sum;
    }

    /// <summary>The same draws in blocks of 32 (a spanner scan's largest block), through AVX2 gathers.</summary>
    [Benchmark(OperationsPerInvoke = Draws)]
    public long SampleMany()
    {
        Span<int> block = stackalloc int[32];
        long sum = 0;
        for (int i = 0; i < Draws; i += block.Length)
        {
            _table.SampleMany(_rng, block);
            sum += block[0];
        }
        return sum;
    }
}

/// <summary>The linear score f(y) = ⟨θ, φ(x,y)⟩ over the contiguous feature matrix of one prompt.</summary>
public readonly struct LinearScore(double[] features, double[] theta) : IResponseScore
{
    private readonly int _d = theta.Length;

    public double Score(Response response) => TensorPrimitives.Dot(new ReadOnlySpan<double>(features, response.Index * _d, _d), theta);
}

/// <summary>The same score with the library's inlined SIMD dot product (<see cref="VectorMath.Dot"/>).</summary>
public readonly struct LinearScoreSimd(double[] features, double[] theta) : IResponseScore
{
    private readonly int _d = theta.Length;

    public double Score(Response response) => VectorMath.Dot(new ReadOnlySpan<double>(features, response.Index * _d, _d), theta);
}

/// <summary>EnvelopeSampler calls at d = 16 (target ≥ 10 M calls/s). One operation = one sampling-oracle
/// call made by <see cref="EnvelopeSampler.Sample"/> through the metered <see cref="EnumerableEnvironment"/>: an alias
/// draw from π_ref, the score ⟨θ, φ(y)⟩ and (for proposals) the log-space acceptance test. Pilot samples
/// (m = 64 per draw) are oracle calls too and are included; the loop stops at the first draw that reaches
/// 2¹⁶ calls (overshoot ≤ one draw, ≈ 0.2%).</summary>
[MemoryDiagnoser]
public class EnvelopeProposals
{
    private const int Calls = 1 << 16;
    private EnumerableEnvironment _env = null!;
    private EnvelopeSampler _sampler = null!;
    private Prompt _prompt;
    private LinearScore _score;
    private LinearScoreSimd _scoreSimd;
    private Rng _rng = null!;

    [Params(16)]
    public int D { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var inst = BenchData.OnePrompt(3, 4096, D, beta: 0.1, thetaNorm: 0.5);
        _env = new EnumerableEnvironment(inst, new Meter(), new Rng(4));
        _rng = new Rng(5);
        _prompt = _env.DrawPrompt(_rng);
        _sampler = EnvelopeSampler.ForCoverage(inst.Beta, coverage: 64, missProbability: 0.37, delta: 0.05);
        var p = inst.Prompts[0];
        _score = new LinearScore(p.FeatureMatrix.ToArray(), inst.Theta);
        _scoreSimd = new LinearScoreSimd(p.FeatureMatrix.ToArray(), inst.Theta);
    }

    /// <summary>Score via TensorPrimitives.Dot.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public long Proposals()
    {
        long calls = 0;
        while (calls < Calls) calls += _sampler.Sample(_prompt, _env, in _score, _rng).OracleCalls;
        return calls;
    }

    /// <summary>Score via VectorMath.Dot.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public long ProposalsSimdScore()
    {
        long calls = 0;
        while (calls < Calls) calls += _sampler.Sample(_prompt, _env, in _scoreSimd, _rng).OracleCalls;
        return calls;
    }
}

/// <summary>Exact evaluation of one prompt with 10⁶ responses at d = 16 (target ≤ 50 ms).
/// <see cref="Summarize"/> is everything <c>instance inspect</c> prints (J_opt, J_ref, C_cov, average coverage, R_max)
/// from the precomputed rewards; <see cref="LogPartition"/> is one log Z; <see cref="ValueOfPolicy"/> is J_β(π) of an
/// explicit policy; <see cref="Rewards"/> is the 10⁶ dot products
/// ⟨θ*, φ(x,y)⟩ that building the instance costs (done once per instance, not per evaluation) — with one
/// TensorPrimitives.Dot per row as <see cref="EnumerablePrompt"/> does, and with <see cref="VectorMath.MatVec"/>.</summary>
[MemoryDiagnoser]
public class ExactEvaluation
{
    private EnumerableInstance _inst = null!;
    private double[] _features = null!;
    private double[] _rewards = null!;
    private TabularPolicy _policy = null!;

    [Params(1_000_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _inst = BenchData.OnePrompt(6, N, 16, beta: 0.01, thetaNorm: 1.0);
        _features = _inst.Prompts[0].FeatureMatrix.ToArray();
        _rewards = new double[N];
        _policy = TabularPolicy.LinearSoftmax(_inst, _inst.Theta.Select(t => 0.9 * t).ToArray());
    }

    [Benchmark]
    public double LogPartition() => ExactEvaluator.LogPartition(_inst.Prompts[0], _inst.Beta);

    [Benchmark]
    public InstanceSummary Summarize() => ExactEvaluator.Summarize(_inst);

    /// <summary>J_β(π) of an explicit policy (how a run's output is scored).</summary>
    [Benchmark]
    public double ValueOfPolicy() => ExactEvaluator.Value(_inst, _policy);

    [Benchmark]
    public double Rewards()
    {
        var theta = _inst.Theta;
        for (int y = 0; y < _rewards.Length; y++)
            _rewards[y] = TensorPrimitives.Dot(new ReadOnlySpan<double>(_features, y * 16, 16), theta);
        return _rewards[^1];
    }

    [Benchmark]
    public double RewardsMatVec()
    {
        VectorMath.MatVec(_features, _inst.Theta, _rewards);
        return _rewards[^1];
    }
}

/// <summary>The spanner test ‖v‖²_{Σ⁻¹} at d = 64 (target ≤ 2 µs), after 200 rank-one updates;
/// and one rank-one update for reference.</summary>
[MemoryDiagnoser]
public class SpannerNorm
{
    private EllipticNorm _norm = null!;
    private double[] _v = null!;

    [Params(64)]
    public int D { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(7);
        _norm = new EllipticNorm(D, 0.1);
        for (int i = 0; i < 200; i++) _norm.Add(BenchData.Vector(rng, D, 1.0));
        _v = BenchData.Vector(rng, D, 1.0);
    }

    [Benchmark]
    public double NormSquared() => _norm.NormSquared(_v);

    [Benchmark]
    public void RankOneUpdate() => _norm.Add(_v);
}
