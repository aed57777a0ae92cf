using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Benchmarks;

/// <summary>Where an EnvelopeSampler proposal's time goes (d = 16, |Y| = 4096): each benchmark adds one piece of the
/// proposal loop — alias draw; + score ⟨θ, φ(y)⟩; + log-uniform acceptance test; + the metered oracle (interface
/// call, handle check, meter charge). One operation = one proposal.</summary>
[MemoryDiagnoser]
public class ProposalBreakdown
{
    private const int Ops = 1 << 16;
    private AliasTable _table = null!;
    private double[] _features = null!;
    private double[] _theta = null!;
    private ILearnerEnvironment _oracle = null!;
    private Prompt _prompt;
    private Rng _rng = null!;

    [GlobalSetup]
    public void Setup()
    {
        var inst = BenchData.OnePrompt(3, 4096, 16, beta: 0.1, thetaNorm: 0.5);
        _table = inst.Prompts[0].RefSampler;
        _features = inst.Prompts[0].FeatureMatrix.ToArray();
        _theta = inst.Theta;
        var env = new EnumerableEnvironment(inst, new Meter(), new Rng(4));
        _rng = new Rng(5);
        _prompt = env.DrawPrompt(_rng);
        _oracle = env;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public long AliasOnly()
    {
        long s = 0;
        for (int i = 0; i < Ops; i++) s += _table.Sample(_rng);
        return s;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public double AliasScore()
    {
        double s = 0;
        for (int i = 0; i < Ops; i++)
            s += TensorPrimitives.Dot(new ReadOnlySpan<double>(_features, _table.Sample(_rng) * 16, 16), _theta);
        return s;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public long AliasScoreAccept()
    {
        long accepted = 0;
        for (int i = 0; i < Ops; i++)
        {
            double f = TensorPrimitives.Dot(new ReadOnlySpan<double>(_features, _table.Sample(_rng) * 16, 16), _theta);
            if (Math.Log(_rng.NextDoubleOpenZero()) <= f / 0.1 - 5.0) accepted++;
        }
        return accepted;
    }

    [Benchmark(OperationsPerInvoke = Ops)]
    public long OracleScoreAccept()
    {
        long accepted = 0;
        for (int i = 0; i < Ops; i++)
        {
            double f = TensorPrimitives.Dot(new ReadOnlySpan<double>(_features, _oracle.Sample(_prompt, _rng).Index * 16, 16), _theta);
            if (Math.Log(_rng.NextDoubleOpenZero()) <= f / 0.1 - 5.0) accepted++;
        }
        return accepted;
    }
}
