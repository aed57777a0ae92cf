using BenchmarkDotNet.Attributes;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Benchmarks;

/// <summary>
/// Exact evaluation of token-level policies by DP over (h, s) at V = 50, H = 64 (50^64 responses) on a <c>chain</c>
/// instance with S = 16 states, d = 4 (D = d + S = 20): the value of a token-level linear softmax policy from its law
/// (<c>SoftmaxValue</c>, O(H·S·V)), and the law of MTSS's output sampler as it runs — per state the mixture over anchors
/// of the envelope sampler's exact law, truncation included — plus its value (<c>SamplerLawAndValue</c>, O(H·S·V²·D²)).
/// </summary>
[MemoryDiagnoser]
public class TokenDpBenchmarks
{
    private AutoregressiveInstance _inst = null!;
    private TokenLaw _softmaxLaw = null!;
    private TruncatedTokenPolicy _policy = null!;

    [GlobalSetup]
    public void Setup()
    {
        _inst = ChainFamily.Create(new Dictionary<string, string>
        {
            ["vocab"] = "50", ["horizon"] = "64", ["states"] = "16", ["d"] = "4", ["seed"] = "1",
        }, 1);
        int D = TokenFeatures.Dimension(_inst);
        var rng = new Rng(2);
        var thetas = Enumerable.Range(0, _inst.Horizon).Select(_ => Enumerable.Range(0, D).Select(_ => 0.3 * rng.NextGaussian()).ToArray()).ToArray();
        _softmaxLaw = TokenPolicyEvaluator.SoftmaxLaw(_inst, thetas);
        _policy = new TruncatedTokenPolicy(_inst.Horizon, D, _inst.Beta, 0.5, useDistributions: false);
        var sigmaInverse = new double[D * D];
        for (int i = 0; i < D; i++) sigmaInverse[i * D + i] = 0.2;
        for (int h = 1; h <= _inst.Horizon; h++) _policy.SetLayer(h, thetas[h - 1], sigmaInverse, new TokenSamplerSize(30, 60));
    }

    [Benchmark]
    public double SoftmaxValue() => TokenPolicyEvaluator.Evaluate(_inst, _softmaxLaw).J;

    [Benchmark]
    public double SamplerLawAndValue() => TokenPolicyEvaluator.Evaluate(_inst, _policy.Law(_inst)).J;
}
