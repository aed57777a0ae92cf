using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels.Text;

public class TextEnvironmentTests
{
    private static TextEnvironment Create(Meter meter, out TextResponses store)
    {
        var task = LettersTask.Create(1);
        store = new TextResponses(task, task.BuiltinModel!(), new HashedNGramFeatures(), 0.05, 8);
        return new TextEnvironment(store, meter, task.BuiltinChecker!(), TextEnvironment.Training);
    }

    [Fact]
    public void SamplesAreHandles_DeduplicatedAndMetered()
    {
        var env = Create(new Meter(), out var store);
        var rng = new Rng(1);
        var x = env.PromptAt(0);
        var seen = new Dictionary<int, string>();
        for (int i = 0; i < 500; i++)
        {
            var y = env.Sample(x, rng);
            string text = store.TextOf(y.Index);
            if (seen.TryGetValue(y.Index, out var before)) Assert.Equal(before, text);
            seen[y.Index] = text;
            var phi = env.Features(y);
            Assert.Equal(128, phi.Length);
            Assert.True(Math.Sqrt(phi.ToArray().Sum(v => v * v)) <= 1 + 1e-12);
        }
        Assert.Equal(500, env.Meter.TComp);
        Assert.True(store.Count < 500); // repeated responses share a handle
        Assert.Equal(store.Count, seen.Count);
        Assert.False(env.CanEnumerate);
        Assert.Throws<NotSupportedException>(() => env.Enumerate(x));
    }

    [Fact]
    public void ForeignHandles_AreRefused_AndTheDataBudgetHolds()
    {
        var env = Create(new Meter(budgetData: 2), out _);
        var other = Create(new Meter(), out _);
        var rng = new Rng(2);
        var y = env.Sample(env.PromptAt(3), rng);
        Assert.Throws<ForeignHandleException>(() => other.Query(y));
        Assert.Throws<ForeignHandleException>(() => env.Sample(default, rng));
        env.Query(y);
        env.Query(y);
        Assert.Throws<BudgetExhaustedException>(() => env.Query(y));
        Assert.Equal(2, env.Meter.TData);
        Assert.Equal(2, env.Verifier.Answered);
    }

    /// <summary>With the default features, the graded letters reward is exactly linear up to hash collisions: a least-squares fit
    /// on sampled responses explains it almost entirely.</summary>
    [Fact]
    public void GradedReward_IsNearlyLinearInTheHashedFeatures()
    {
        var env = Create(new Meter(), out _);
        var rng = new Rng(3);
        var ridge = new RidgeRegression(env.Dimension, 1e-6);
        var data = new List<(double[] Phi, double R)>();
        for (int i = 0; i < 3000; i++)
        {
            var y = env.Sample(env.DrawPrompt(rng), rng);
            var phi = env.Features(y).ToArray();
            double r = env.Query(y);
            ridge.Add(phi, r);
            data.Add((phi, r));
        }
        var theta = new double[env.Dimension];
        ridge.Solve(theta);
        double sse = data.Sum(d => Math.Pow(d.Phi.Zip(theta, (a, b) => a * b).Sum() - d.R, 2));
        double mean = data.Average(d => d.R);
        double sst = data.Sum(d => Math.Pow(d.R - mean, 2));
        Assert.True(1 - sse / sst > 0.95, $"R² = {1 - sse / sst}");
    }
}
