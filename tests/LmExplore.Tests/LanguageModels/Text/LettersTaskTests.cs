using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels.Text;

public class LettersTaskTests
{
    [Fact]
    public void Reward_IsTheFractionOfAllowedLetters()
    {
        Assert.Equal(1.0, LettersTask.Reward("ad>", "adda"));
        Assert.Equal(0.5, LettersTask.Reward("ad>", "ab"));
        Assert.Equal(0.0, LettersTask.Reward("ad>", ""));
        Assert.Equal(0.0, LettersTask.Reward("ad>", ">>"));
        Assert.Equal(15, LettersTask.PromptTexts.Count);
    }

    [Fact]
    public void BinaryReward_IsPassOrFail()
    {
        using var checker = LettersTask.Create(1, binaryReward: true).BuiltinChecker!();
        Assert.Equal(1.0, checker.Score("ad>", "adda"));
        Assert.Equal(0.0, checker.Score("ad>", "adb"));
        Assert.Equal(0.0, checker.Score("ad>", ""));
        Assert.Equal(3, checker.Answered);
        var e = Assert.Throws<InputException>(() => TextTask.Resolve("prompts.jsonl", 1, binaryReward: true));
        Assert.Contains("letters only", e.Message);
    }

    /// <summary>The exact π_ref pass rate (enumeration of all-allowed prefixes) agrees with a Monte Carlo estimate.</summary>
    [Fact]
    public void ExactReferencePassRate_AgreesWithSampling()
    {
        var task = LettersTask.Create(1);
        var model = task.BuiltinModel!();
        const int maxTokens = 8;
        double exact = LettersTask.ExactReferencePassRate(task, model, maxTokens);
        Assert.InRange(exact, 0.01, 0.1); // the base model covers good answers poorly
        var rng = new Rng(17);
        var prompts = task.Prompts.Select(p => model.Encode(p.Text)).ToArray();
        int pass = 0;
        const int n = 40000;
        for (int i = 0; i < n; i++)
        {
            int x = rng.NextInt(prompts.Length);
            var s = model.SampleOne(prompts[x], maxTokens, rng);
            if (LettersTask.Reward(task.Prompts[x].Text, model.Decode(s.Tokens)) >= 1) pass++;
        }
        double estimate = (double)pass / n, se = Math.Sqrt(exact * (1 - exact) / n);
        Assert.True(Math.Abs(estimate - exact) < 4 * se, $"exact {exact}, Monte Carlo {estimate} ± {se}");
    }
}
