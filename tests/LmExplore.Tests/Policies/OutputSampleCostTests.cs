using LmExplore.Instances;
using LmExplore.Policies;

namespace LmExplore.Tests.Policies;

/// <summary>
/// Regression: for π_θ = π_ref (θ = 0, e.g. Passive with
/// <c>pairs=0</c>) every score is equal, so the first proposal is always accepted: output_sample_cost is exactly
/// m pilot samples + 1 proposal, with no rounding creeping in.
/// </summary>
public class OutputSampleCostTests
{
    [Theory]
    [InlineData("linear", 1UL)]
    [InlineData("linear", 2UL)]
    [InlineData("needle", 3UL)]
    public void ReferencePolicy_CostsThePilotAndOneProposal(string family, ulong seed)
    {
        var instance = InstanceCatalog.Create(family, new Dictionary<string, string> { ["responses"] = "300" }, seed);
        foreach (long m in new[] { 1L, 7L })
        {
            var policy = new SoftmaxOutputPolicy(new double[instance.Dimension], new EnvelopeSampler(instance.Beta, m, 50));
            var law = policy.Law(instance);
            Assert.Equal(m + 1.0, law.SampleCost, 12);
            Assert.Equal(0, law.Diagnostics["output_sampler_failure_mean"]);
            for (int x = 0; x < instance.Prompts.Count; x++)
                for (int y = 0; y < instance.Prompts[x].ResponseCount; y++)
                    Assert.Equal(Math.Exp(instance.Prompts[x].LogRefProbs[y]), Math.Exp(law.Sampler.LogProbs[x][y]), 12);
        }
    }
}
