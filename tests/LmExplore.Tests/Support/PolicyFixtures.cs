using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;

namespace LmExplore.Tests.Support;

/// <summary>A score given as a table f(y) over the responses of one prompt.</summary>
internal readonly struct TableScore(double[] f) : IResponseScore
{
    public double Score(Response response) => f[response.Index];
}

/// <summary>Small hand-built instances shared by the sampler and output-policy tests.</summary>
internal static class PolicyFixtures
{
    /// <summary>One prompt over π_ref = <paramref name="refProbs"/> (features unused), with its environment and a received prompt.</summary>
    public static (EnumerableEnvironment Env, Meter Meter, Prompt Prompt, EnumerableInstance Instance) OnePrompt(double[] refProbs,
        long? budgetComp = null, double beta = 1.0)
    {
        var logRef = refProbs.Select(p => Math.Log(p)).ToArray();
        var prompt = new EnumerablePrompt(1.0, logRef, new double[refProbs.Length], 1, [0.0]);
        var instance = new EnumerableInstance("sampler-test", beta, [0.0], NoiseModel.None, [prompt]);
        var meter = new Meter(budgetComp: budgetComp);
        var env = new EnumerableEnvironment(instance, meter, new Rng(1));
        var x = env.DrawPrompt(new Rng(2));
        Assert.Equal(0, x.Index);
        return (env, meter, x, instance);
    }

    /// <summary>One prompt × 40 responses, d = 3, θ* = (0.8, −0.4, 0.3); response 0 has π_ref mass ∝ <paramref name="tinyMass"/>.</summary>
    public static EnumerableInstance ExtremeInstance(double beta, double tinyMass)
    {
        var rng = new Rng(3);
        const int d = 3, n = 40;
        var logRef = new double[n];
        var features = new double[n * d];
        for (int y = 0; y < n; y++)
        {
            logRef[y] = y == 0 ? Math.Log(tinyMass) : -rng.NextDouble();
            for (int j = 0; j < d; j++) features[y * d + j] = rng.NextDouble() - 0.5;
        }
        TabularPolicy.Normalize(logRef);
        double[] theta = [0.8, -0.4, 0.3];
        var prompt = new EnumerablePrompt(1, logRef, features, d, theta);
        return new EnumerableInstance("ref", beta, theta, NoiseModel.None, [prompt]);
    }

    /// <summary>Two prompts × <paramref name="n"/> responses, β = 1, features in [−0.25, 0.25]³, π_ref ∝ 1/(y+1), θ* = <paramref name="theta"/>.</summary>
    public static EnumerableInstance SmallInstance(double[]? theta = null, int n = 12)
    {
        theta ??= [0.3, -0.2, 0.1];
        var rng = new Rng(11);
        const int d = 3;
        var prompts = new List<EnumerablePrompt>();
        for (int x = 0; x < 2; x++)
        {
            var logRef = new double[n];
            var features = new double[n * d];
            for (int y = 0; y < n; y++)
            {
                logRef[y] = Math.Log(1.0 / (y + 1));
                for (int j = 0; j < d; j++) features[y * d + j] = 0.5 * (rng.NextDouble() - 0.5);
            }
            TabularPolicy.Normalize(logRef);
            prompts.Add(new EnumerablePrompt(0.5, logRef, features, d, theta));
        }
        return new EnumerableInstance("small", 1.0, theta, NoiseModel.None, prompts);
    }

    /// <summary>The needle family at small size (as in the algorithm tests).</summary>
    public static Dictionary<string, string> SmallNeedle(double coverage, int prompts = 4, int responses = 300) => new()
    {
        ["ccov"] = coverage.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["beta"] = "0.1", ["R"] = "1", ["noise"] = "gaussian", ["sigma"] = "0.1",
        ["d"] = "4", ["prompts"] = prompts.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["responses"] = responses.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Draws prompts from <paramref name="env"/> until prompt <paramref name="index"/> comes up (oracles answer only about received prompts).</summary>
    public static Prompt Receive(EnumerableEnvironment env, int index, Rng rng)
    {
        for (int i = 0; i < 1_000_000; i++)
        {
            var x = env.DrawPrompt(rng);
            if (x.Index == index) return x;
        }
        throw new InvalidOperationException($"prompt {index} never drawn");
    }
}
