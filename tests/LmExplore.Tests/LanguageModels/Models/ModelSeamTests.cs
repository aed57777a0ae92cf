using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Tests.Cli;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels.Models;

/// <summary>The model seam: the shared sampler consumes the Rng exactly as token-by-token inversion does, and the catalog opens every kind.</summary>
public class ModelSeamTests : IClassFixture<GgufModelTests.TinyModelFile>, IDisposable
{
    private readonly string _gguf;
    private readonly TempDirectory _dir = new("seam");

    public ModelSeamTests(GgufModelTests.TinyModelFile file) => _gguf = file.Path;

    public void Dispose() => _dir.Dispose();

    /// <summary>The sampling process written out independently: one uniform per token, inversion over the log-probabilities,
    /// stop at EOS (charged) or cut at the limit.</summary>
    private static (int[] Tokens, bool Ended, double LogProb) Reference(INextTokenModel model, int[] prompt, int maxTokens, Rng rng)
    {
        var context = new List<int>(prompt);
        var lp = new double[model.VocabSize];
        var tokens = new List<int>();
        double total = 0;
        for (int h = 0; h < maxTokens; h++)
        {
            model.NextTokenLogProbs(context.ToArray(), lp);
            double u = rng.NextDouble(), cumulative = 0;
            int a = -1;
            for (int t = 0; t < lp.Length; t++)
            {
                if (double.IsNegativeInfinity(lp[t])) continue;
                cumulative += Math.Exp(lp[t]);
                a = t;
                if (u < cumulative) break;
            }
            total += lp[a];
            if (a == model.Eos) return (tokens.ToArray(), true, total);
            tokens.Add(a);
            context.Add(a);
        }
        return (tokens.ToArray(), false, total);
    }

    /// <summary><paramref name="referenceModel"/>: the same model, loaded separately when its state (a KV cache) could depend on past calls.</summary>
    private static void AssertBatchMatchesReference(ILanguageModel model, ILanguageModel referenceModel, string promptText, int maxTokens, int n)
    {
        var prompt = model.Encode(promptText);
        var batch = new SampledSequence[n];
        var rng = new Rng(42);
        model.Sample(prompt, maxTokens, rng, batch);
        var reference = new Rng(42);
        var next = referenceModel.NextTokens!;
        foreach (var s in batch)
        {
            var (tokens, ended, logProb) = Reference(next, prompt, maxTokens, reference);
            Assert.Equal(tokens, s.Tokens);
            Assert.Equal(ended, s.Ended);
            Assert.Equal(ended ? EndReason.Stop : EndReason.Length, s.End);
            Assert.Equal(logProb, s.LogProb); // bit for bit
            Assert.Equal(model.Decode(tokens), s.Text);
        }
        Assert.Equal(reference.NextDouble(), rng.NextDouble()); // the same uniforms consumed, no more
    }

    [Fact]
    public void NGramBatch_IsTheTokenByTokenProcess_BitForBit() =>
        AssertBatchMatchesReference(LettersTask.Create(1).BuiltinModel!(), LettersTask.Create(1).BuiltinModel!(), "ce>", 8, 400);

    [Fact]
    public void GgufBatch_IsTheTokenByTokenProcess_BitForBit()
    {
        using var model = ModelCatalog.Open(_gguf);
        using var reference = GgufModel.Load(_gguf);
        Assert.Equal("gguf", model.Kind);
        Assert.NotNull(model.Embedder);
        AssertBatchMatchesReference(model, reference, "ad>", 4, 12);
    }

    [Fact]
    public void LmSample_Lines_AreUnchanged()
    {
        string path = Path.Combine(_dir.Path, "letters.json");
        Assert.Equal(0, CliHarness.Invoke("lm", "train", "--corpus", "letters", "--out", path).ExitCode);
        var outcome = CliHarness.Invoke("lm", "sample", "--model", path, "--prompt", "ad>", "--n", "3", "--max-tokens", "8", "--seed", "1");
        Assert.Equal(
            """
            {"response":"edcbd","tokens":[6,5,4,3,5],"ended":true,"logprob":-11.43283667322546}
            {"response":"ace\u003Efffd","tokens":[2,4,6,1,7,7,7,5],"ended":false,"logprob":-15.323102290821659}
            {"response":"df","tokens":[5,7],"ended":true,"logprob":-5.329239915382163}

            """.ReplaceLineEndings("\n"), outcome.Stdout);
    }

    [Fact]
    public void Catalog_MissingOrEmptySpecs_AreOneLineErrorsNamingThem()
    {
        string missing = Path.Combine(_dir.Path, "no-such-model.bin");
        var e = Assert.Throws<InputException>(() => ModelCatalog.Open(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("file not found", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<InputException>(() => ModelCatalog.Open(""));
        Assert.Contains("is a directory", Assert.Throws<InputException>(() => ModelCatalog.Open(_dir.Path)).Message);
        CliHarness.Invoke("lm", "sample", "--model", missing, "--prompt", "a", "--seed", "1").AssertBadInput("missing model");
    }

    [Fact]
    public void Catalog_RegisteredKinds_ComeFirst_AndReplaceByName()
    {
        string name = "seam-test-" + Guid.NewGuid().ToString("N");
        var builtin = LettersTask.Create(1).BuiltinModel!;
        ModelCatalog.Register(ModelKind.WithScheme(name, name + ":ANY", _ => throw new InputException("first")));
        ModelCatalog.Register(ModelKind.WithScheme(name, name + ":ANY", rest => rest == "letters" ? builtin() : throw new InputException(rest)));
        Assert.Single(ModelCatalog.Kinds, k => k.Name == name);
        Assert.Equal("ngram", ModelCatalog.Open(name + ":letters").Kind);
        Assert.Equal("x.gguf", Assert.Throws<InputException>(() => ModelCatalog.Open(name + ":x.gguf")).Message); // not taken as a GGUF file
        Assert.Throws<ArgumentException>(() => ModelCatalog.Register(new ModelKind("gguf", "x", _ => false, _ => builtin())));
    }

    [Fact]
    public void NextTokenCapability_IsRequiredByName()
    {
        using var sampler = new SamplerOnlyModel(LettersTask.Create(1).BuiltinModel!(), canScore: false);
        var e = Assert.Throws<InputException>(() => LettersTask.ExactReferencePassRate(LettersTask.Create(1), sampler, 4));
        Assert.Contains("next-token distributions", e.Message);
        Assert.Contains("'sampler-only'", e.Message);
    }
}
