using LmExplore.Instances;
using LmExplore.Policies;

namespace LmExplore.Tests.Verification;

/// <summary>
/// Acceptance-check regression: for π_θ = π_ref (θ = 0, e.g. Passive with <c>pairs=0</c>) the exact coverage M is 1
/// but rounding made it 1 + 2e-16, so ⌈M⌉ counted two normalizer samples: output_sample_cost was 3 instead of
/// 1 normalizer sample + 1 always-accepted proposal = 2.
/// </summary>
public class OutputSampleCostTests
{
    [Theory]
    [InlineData("linear", 1UL)]
    [InlineData("linear", 2UL)]
    [InlineData("needle", 3UL)]
    public void ReferencePolicy_CostsOneNormalizerSampleAndOneProposal(string family, ulong seed)
    {
        var instance = InstanceCatalog.Create(family, new Dictionary<string, string> { ["responses"] = "300" }, seed);
        var policy = new LinearSoftmaxOutputPolicy(new double[instance.Dimension], 0.1);
        Assert.Equal(2.0, policy.ExpectedSampleCost(instance), 12);
    }
}
