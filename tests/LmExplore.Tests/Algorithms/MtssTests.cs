using LmExplore.Runs;
using System.Text.Json;
using LmExplore.Algorithms;
using LmExplore.Experiments;
using LmExplore.Instances;

namespace LmExplore.Tests.Algorithms;

/// <summary>MTSS end to end through the runner: ε reached on a small chain, an exact headline far beyond enumeration,
/// output draws that agree with <c>expected_reward_out</c>, and one-line errors for bad input.</summary>
public class MtssTests
{
    private static RunRequest Request(IReadOnlyDictionary<string, string> instanceParams, Dictionary<string, string>? algoParams = null,
        long? budgetTokens = null, ulong seed = 1) =>
        new("chain", instanceParams, "mtss", algoParams ?? new Dictionary<string, string>(), seed, BudgetTokens: budgetTokens);

    [Fact]
    public void ReachesEpsilonOnASmallChain_AtDefaults()
    {
        var r = Runner.Run(Request(new Dictionary<string, string> { ["horizon"] = "4" }));
        Assert.Equal("ok", r.Status);
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, r.Evaluation);
        Assert.True(r.ReachedEpsilon, $"suboptimality {r.Suboptimality}");
        Assert.True(r.Suboptimality >= -1e-9);
        Assert.True(r.TTokens > 0 && r.TData > 0);
        Assert.Equal(0, r.TComp);
        Assert.NotNull(r.CCond);
        Assert.True(r.CCov > r.CCond);
    }

    [Fact]
    public void IsDeterministic()
    {
        var p = new Dictionary<string, string> { ["horizon"] = "3" };
        var a = Runner.Run(Request(p, budgetTokens: 30_000));
        var b = Runner.Run(Request(p, budgetTokens: 30_000));
        Assert.Equal(a.Suboptimality, b.Suboptimality);
        Assert.Equal(a.TTokens, b.TTokens);
    }

    [Fact]
    public void FarBeyondEnumeration_TheHeadlineIsExact_AndOutputDrawsAgreeWithIt()
    {
        // V = 4, H = 40: 4^40 responses. A token budget keeps the test fast; the evaluation is DP, never Monte Carlo.
        var p = new Dictionary<string, string> { ["vocab"] = "4", ["horizon"] = "40", ["states"] = "4" };
        var outcome = Runner.Execute(Request(p, new Dictionary<string, string> { ["next-token-distributions"] = "true" }, budgetTokens: 400_000));
        var r = outcome.Result;
        Assert.Equal(LmExplore.Evaluation.EvaluationKind.Exact, r.Evaluation);
        Assert.Null(r.SuboptimalityCiLow);
        Assert.True(r.TTokens <= 400_000);
        Assert.True(r.Suboptimality >= -1e-9 && r.JOut < r.JOpt + 1e-9);

        var writer = new StringWriter();
        const int n = 4000;
        long calls = Runner.WriteOutputSamples(outcome, n, 7, writer);
        var inst = ((LmExplore.Runs.AutoregressiveProblem)outcome.Problem).Instance;
        var rewards = new List<double>();
        foreach (var line in writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            int x = doc.RootElement.GetProperty("prompt").GetInt32();
            var tokens = doc.RootElement.GetProperty("response").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(40, tokens.Length);
            rewards.Add(inst.SequenceReward(x, tokens));
        }
        Assert.Equal(n, rewards.Count);
        double mean = rewards.Average();
        double se = Math.Sqrt(rewards.Sum(v => (v - mean) * (v - mean)) / (n - 1) / n);
        Assert.InRange(r.ExpectedRewardOut, mean - 4.5 * se, mean + 4.5 * se);
        Assert.InRange((double)calls / n, 0.97 * r.OutputSampleCost, 1.03 * r.OutputSampleCost);
    }

    [Fact]
    public void OutputDrawsAgreeWithExpectedReward_InSamplerMode()
    {
        var p = new Dictionary<string, string> { ["horizon"] = "6" };
        var outcome = Runner.Execute(Request(p, budgetTokens: 150_000));
        var writer = new StringWriter();
        const int n = 3000;
        long calls = Runner.WriteOutputSamples(outcome, n, 3, writer);
        var inst = ((LmExplore.Runs.AutoregressiveProblem)outcome.Problem).Instance;
        var rewards = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using var doc = JsonDocument.Parse(line);
            return inst.SequenceReward(doc.RootElement.GetProperty("prompt").GetInt32(),
                doc.RootElement.GetProperty("response").EnumerateArray().Select(e => e.GetInt32()).ToArray());
        }).ToList();
        double mean = rewards.Average();
        double se = Math.Sqrt(rewards.Sum(v => (v - mean) * (v - mean)) / (n - 1) / n);
        Assert.InRange(outcome.Result.ExpectedRewardOut, mean - 4.5 * se, mean + 4.5 * se);
        Assert.InRange((double)calls / n, 0.95 * outcome.Result.OutputSampleCost, 1.05 * outcome.Result.OutputSampleCost);
    }

    [Fact]
    public void Frontier_ScansTokenBudgets_ForMtss()
    {
        var request = new LmExplore.Experiments.Frontier.FrontierRequest("chain", new Dictionary<string, string> { ["horizon"] = "3", ["seed"] = "1" },
            "mtss", new Dictionary<string, string> { ["next-token-distributions"] = "true" }, [1, 2],
            CompFrom: 128, CompTo: 1 << 16, DataFrom: 16, DataTo: 1 << 14, Parallelism: 1);
        var f = LmExplore.Experiments.Frontier.FrontierSearch.Run(request);
        Assert.NotNull(f.ComputeToEps);
        Assert.NotNull(f.DataToEps);
        Assert.All(f.SuccessByBudget.Where(p => p.Kind != "data"), p => Assert.Equal("tokens", p.Kind));
        Assert.True(f.AtComputeToEps!.MedianTTokens <= f.ComputeToEps);
        Assert.Contains("\"compute_budget\":\"T_tokens\"", LmExplore.Experiments.Frontier.FrontierSearch.ToJson(f));
    }

    [Fact]
    public void SequenceLevelSpanner_RunsOnTheSameChain_ChargedHTokensPerSample()
    {
        var r = Runner.Run(new RunRequest("chain", new Dictionary<string, string> { ["horizon"] = "4" }, "spanner",
            new Dictionary<string, string>(), 1, BudgetComp: 20_000));
        Assert.Equal(4 * r.TComp, r.TTokens);
        Assert.NotNull(r.CCond);
    }

    [Theory]
    [InlineData("needle", "", null, "autoregressive instance")]
    [InlineData("chain", "bogus=1", null, "unknown algo-param 'bogus'")]
    [InlineData("chain", "roll-in=policy", null, "roll-in")]
    [InlineData("chain", "nu=-1", null, "nu")]
    [InlineData("chain", "", 100L, "--budget-tokens instead of --budget-comp")]
    public void BadInput_IsAOneLineInputError(string instance, string algoParam, long? budgetComp, string expected)
    {
        var algo = new Dictionary<string, string>();
        if (algoParam.Length > 0) algo[algoParam.Split('=')[0]] = algoParam.Split('=')[1];
        var ps = instance == "needle" ? new Dictionary<string, string> { ["responses"] = "10" } : new Dictionary<string, string> { ["horizon"] = "3" };
        var e = Assert.Throws<InputException>(() => Runner.Run(new RunRequest(instance, ps, "mtss", algo, 1, BudgetComp: budgetComp)));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void SequenceLevelAlgorithmsBeyondEnumeration_AreRefusedWithAPointerToMtss()
    {
        var e = Assert.Throws<InputException>(() => Runner.Run(new RunRequest("chain", new Dictionary<string, string> { ["horizon"] = "30" },
            "spanner", new Dictionary<string, string>(), 1)));
        Assert.Contains("mtss", e.Message);
    }
}
