using System.Numerics.Tensors;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;

namespace LmExplore.Policies;

/// <summary>
/// A proper output π_θ(y|x) ∝ π_ref(y|x)·exp(⟨θ,φ(x,y)⟩/β), drawn as a user would draw it: with
/// <see cref="EnvelopeSampler"/> on the score ⟨θ, φ⟩ — every pilot sample and proposal a paid oracle call.
/// <see cref="Law"/> is the exact law of that sampler (<see cref="EnvelopeLaw"/>); the target π_θ is the diagnostic.
/// </summary>
public sealed class SoftmaxOutputPolicy : IOutputPolicy
{
    private readonly double[] _theta;
    private EnumerableInstance? _cachedFor;
    private OutputLaw? _cached;

    /// <summary>Creates π_θ drawn by <paramref name="sampler"/>.</summary>
    public SoftmaxOutputPolicy(ReadOnlySpan<double> theta, EnvelopeSampler sampler)
    {
        _theta = theta.ToArray();
        Sampler = sampler;
    }

    /// <summary>θ.</summary>
    public ReadOnlySpan<double> Theta => _theta;
    /// <summary>The output sampler.</summary>
    public EnvelopeSampler Sampler { get; }

    /// <inheritdoc />
    public SamplerDraw Sample(ILearnerEnvironment environment, Prompt prompt, Rng rng) =>
        Sampler.Sample(prompt, environment, new LinearScore(environment, _theta), rng);

    /// <inheritdoc />
    public OutputLaw Law(EnumerableInstance instance)
    {
        lock (_theta)
        {
            if (ReferenceEquals(_cachedFor, instance) && _cached is not null) return _cached;
            if (instance.Dimension != _theta.Length)
                throw new ArgumentException($"policy has dimension {_theta.Length}, instance has {instance.Dimension}");
            int prompts = instance.Prompts.Count;
            var sampler = new double[prompts][];
            double cost = 0, acceptance = 0, failure = 0, totalWeight = 0;
            for (int x = 0; x < prompts; x++)
            {
                var prompt = instance.Prompts[x];
                int n = prompt.ResponseCount;
                var g = new double[n];
                var refProb = new double[n];
                for (int y = 0; y < n; y++)
                {
                    g[y] = TensorPrimitives.Dot(prompt.FeatureRow(y), _theta) / instance.Beta;
                    refProb[y] = Math.Exp(prompt.LogRefProbs[y]);
                }
                var mass = new double[n];
                var summary = new EnvelopeLaw(n).Accumulate(g, refProb, OutputLaws.DescendingOrder(g),
                    Sampler.PilotSamples, Sampler.MaxProposals, 1, mass);
                sampler[x] = OutputLaws.ToLogProbs(mass);
                if (prompt.Weight <= 0) continue;
                cost += prompt.Weight * (Sampler.PilotSamples + summary.Proposals);
                acceptance += prompt.Weight * summary.Acceptance;
                failure += prompt.Weight * summary.Failure;
                totalWeight += prompt.Weight;
            }
            var target = TabularPolicy.LinearSoftmax(instance, _theta);
            var diagnostics = new Dictionary<string, double>
            {
                ["output_pilot_samples"] = Sampler.PilotSamples,
                ["output_max_proposals"] = Sampler.MaxProposals,
                ["output_acceptance_mean"] = acceptance / totalWeight,
                ["output_sampler_failure_mean"] = failure / totalWeight,
                ["output_target_coverage_max"] = target.Coverage(instance),
            };
            _cached = new OutputLaw(new TabularPolicy(sampler), target, cost / totalWeight, null, diagnostics);
            _cachedFor = instance;
            return _cached;
        }
    }
}

/// <summary>The score f(y) = ⟨θ, φ(x,y)⟩ of an issued response.</summary>
public readonly struct LinearScore(ILearnerEnvironment environment, double[] theta) : IResponseScore
{
    /// <inheritdoc />
    public double Score(Response response) => TensorPrimitives.Dot(environment.Features(response), theta);
}
