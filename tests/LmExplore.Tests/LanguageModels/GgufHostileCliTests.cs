using LmExplore.LanguageModels;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.LanguageModels;

/// <summary>
/// Files and text llama.cpp would abort the process on (exit code 134) or answer with garbage, given to the real CLI
/// in a child process — so that, should one reach llama.cpp, the abort shows here as an exit code instead of ending the
/// test host. Each must be a one-line <c>error: …</c> with exit code 2.
/// </summary>
public class GgufHostileCliTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-hostile");
    public void Dispose() => _dir.Dispose();

    private static CliOutcome Run(params string[] args) => CliHarness.Finish(CliHarness.Start(args), TimeSpan.FromSeconds(120));

    private static string[] Sample(string model, string prompt) => ["lm", "sample", "--model", model, "--prompt", prompt, "--n", "2", "--max-tokens", "4", "--seed", "1"];

    private static string[] Letters(string model) =>
        ["run", "--task", "letters", "--model", model, "--algo", "spanner", "--budget-data", "10", "--budget-comp", "200",
         "--param", "max-tokens=4", "--param", "eval-samples=5", "--algo-param", "rejection-coverage=4", "--seed", "1"];

    private static void AssertRefused(CliOutcome outcome, string because, string message)
    {
        outcome.AssertBadInput(because);
        Assert.Contains(message, outcome.ErrorLines[0]);
    }

    public static TheoryData<string> AttackNames() => [.. GgufFixtures.Attacks.Select(a => a.Name)];

    [Theory]
    [MemberData(nameof(AttackNames))]
    public void MalformedFiles_AreOneLineErrors_NotNativeAborts(string name)
    {
        var (_, change, message) = GgufFixtures.Attacks.Single(a => a.Name == name);
        string model = GgufFixtures.Tiny(_dir.Path, name + ".gguf", change);
        AssertRefused(Run(Sample(model, "ab")), name, message);
    }

    [Fact]
    public void TextTheVocabularyCannotEncode_IsRefused_NamingTheCharacter()
    {
        string model = GgufFixtures.Tiny(_dir.Path, "no-bytes.gguf", options: new TinyLlamaOptions { ByteTokens = false });
        AssertRefused(Run(Sample(model, "aZ")), "lm sample", "cannot encode the character 'Z' (U+005A) at position 1 of the text");
        var ok = Run(Sample(model, "ab"));
        Assert.True(ok.ExitCode == 0, ok.Stderr);

        // The letters prompts ("ad>", …) contain '>': a vocabulary without it, and without byte tokens, cannot encode them.
        string noArrow = GgufFixtures.Tiny(_dir.Path, "no-arrow.gguf",
            options: new TinyLlamaOptions { ByteTokens = false, Pieces = GgufWriter.TinyPieces.Where(p => p != ">").ToList() });
        AssertRefused(Run(Letters(noArrow)), "run --task letters", "cannot encode the character '>' (U+003E) at position 2 of the text");
    }

    [Fact]
    public void NonFiniteWeights_AreRefusedAtLoad()
    {
        string model = GgufFixtures.Tiny(_dir.Path, "nan.gguf", w => w.Tensor("blk.0.attn_q.weight", [32, 32], Enumerable.Repeat(float.NaN, 32 * 32).ToArray()));
        const string message = "the model's first next-token logits are not finite";
        AssertRefused(Run(Sample(model, "ab")), "lm sample", message);
        AssertRefused(Run(Letters(model)), "run --task letters", message);
        string inf = GgufFixtures.Tiny(_dir.Path, "inf.gguf", w => w.Tensor("output_norm.weight", [32], Enumerable.Repeat(float.PositiveInfinity, 32).ToArray()));
        AssertRefused(Run(Sample(inf, "ab")), "lm sample", message);
    }
}
