using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Tests.Evaluation;

/// <summary>J_ref keeps its relative accuracy when rewards of size 50 cancel to a mean near zero.</summary>
public class ReferenceValueCancellationTests
{
    [Fact]
    public void ReferenceValue_CancellingRewards_AccurateTo1e8Relative()
    {
        // Pairs (a, −a) cancel exactly in exact arithmetic (all π_ref masses are identical doubles), plus one
        // response with reward c: the exact J_ref is c·p. Shuffled, a plain sum keeps ~1e-14 of absolute noise.
        const int n = 1 << 15;
        const double c = 1e-6;
        var rng = new Rng(11);
        var rewards = new double[n];
        for (int i = 0; i < n / 2 - 1; i++)
        {
            double a = 100 * rng.NextDouble() - 50;
            rewards[2 * i] = a;
            rewards[2 * i + 1] = -a;
        }
        rewards[n - 1] = c;   // rewards[n − 2] stays 0
        for (int i = n - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (rewards[i], rewards[j]) = (rewards[j], rewards[i]);
        }
        var logRef = Enumerable.Repeat(-Math.Log(n), n).ToArray();
        var prompt = new EnumerablePrompt(1.0, logRef, rewards, 1, [1.0]);
        var instance = new EnumerableInstance("cancel", 0.1, [1.0], NoiseModel.None, [prompt]);

        double exact = c * Math.Exp(logRef[0]);
        double jRef = ExactEvaluator.ReferenceValue(instance);
        Assert.True(Math.Abs(jRef - exact) <= 1e-8 * exact, $"J_ref = {jRef:R}, exact {exact:R}");
    }
}
