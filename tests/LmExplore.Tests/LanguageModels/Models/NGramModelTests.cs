using LmExplore.Experiments;
using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels.Models;

public class NGramModelTests
{
    /// <summary>Hand-computed modified Kneser–Ney values for the corpus "ab", "ab", "b", order 2 (see the derivation in the test).</summary>
    [Fact]
    public void KneserNey_MatchesHandComputedValues()
    {
        // Vocabulary: </s>=0, a=1, b=2; BOS pads. Bigram counts: (BOS,a)=2, (a,b)=2, (b,</s>)=3, (BOS,b)=1.
        // Order 2: n1=1, n2=2, n3=1, n4=0 → Y=0.2, D1=0.2, D2=1.7, D3+=3.
        // Order 1 continuation counts: a=1, b=2, </s>=1 → n1=2, n2=1 → Y=0.5, D1=0.5, D2=2, D3+=0.5 (undefined → 0.5).
        // P1: γ=(0.5·2+2·1)/4=0.75; P1(a)=0.5/4+0.75/3=0.375, P1(b)=0.25, P1(</s>)=0.375.
        // P(·|a): c=2, γ=1.7/2=0.85: P(b|a)=0.3/2+0.85·0.25=0.3625, P(a|a)=P(</s>|a)=0.85·0.375=0.31875.
        // P(·|BOS): c=3, γ=1.9/3: P(a|BOS)=0.3/3+γ·0.375=0.3375, P(b|BOS)=0.8/3+γ·0.25=0.425, P(</s>|BOS)=γ·0.375=0.2375.
        var m = NGramModel.Train(["ab", "ab", "b"], 2, NGramLevel.Char);
        Assert.Equal(["</s>", "a", "b"], m.Vocabulary);
        Assert.Equal(0.2, m.Discounts(2)[0], 12);
        Assert.Equal(1.7, m.Discounts(2)[1], 12);
        Assert.Equal(3.0, m.Discounts(2)[2], 12);
        var afterA = m.Probabilities([1]);
        Assert.Equal(0.31875, afterA[0], 12);
        Assert.Equal(0.31875, afterA[1], 12);
        Assert.Equal(0.3625, afterA[2], 12);
        var start = m.Probabilities([]);
        Assert.Equal(0.2375, start[0], 12);
        Assert.Equal(0.3375, start[1], 12);
        Assert.Equal(0.425, start[2], 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void EveryContext_SumsToOne_WithFullSupport(int order)
    {
        var corpus = LettersTask.Corpus(7, 300).ToList();
        var m = NGramModel.Train(corpus, order, NGramLevel.Char);
        int v = m.VocabSize;
        // Every history of length order−1 over the vocabulary (EOS never appears inside a history, but the model must
        // still normalise), plus every shorter (BOS-padded) one.
        var lp = new double[v];
        int checkedContexts = 0;
        for (int length = 0; length < order; length++)
        {
            int total = (int)Math.Pow(v, length);
            var ctx = new int[length];
            for (int code = 0; code < total; code++)
            {
                int c = code;
                for (int j = 0; j < length; j++) { ctx[j] = c % v; c /= v; }
                m.NextTokenLogProbs(ctx, lp);
                double sum = 0;
                foreach (var x in lp) { Assert.True(double.IsFinite(x)); sum += Math.Exp(x); }
                Assert.Equal(1.0, sum, 12);
                checkedContexts++;
            }
        }
        Assert.True(checkedContexts >= 1);
    }

    [Fact]
    public void WordLevel_TrainsEncodesAndDecodes()
    {
        var m = NGramModel.Train(["the cat sat", "the dog sat", "a cat ran"], 2, NGramLevel.Word);
        var ids = m.Encode("the cat");
        Assert.Equal("the cat", m.Decode(ids));
        var p = m.Probabilities(ids);
        Assert.Equal(1.0, p.Sum(), 12);
        Assert.True(p[m.Encode("sat")[0]] > p[m.Encode("dog")[0]]);
        var e = Assert.Throws<InputException>(() => m.Encode("the horse"));
        Assert.Contains("'horse'", e.Message);
    }

    [Fact]
    public void SaveAndLoad_GiveTheSameDistributions()
    {
        using var dir = new TempDirectory("ngram");
        var m = NGramModel.Train(LettersTask.Corpus(3, 200), 3, NGramLevel.Char);
        string path = Path.Combine(dir.Path, "m.json");
        m.Save(path);
        var back = NGramModel.Load(path);
        Assert.Equal(m.Vocabulary, back.Vocabulary);
        foreach (var ctx in new[] { "", "a", "ab>", "cd>ee" })
            Assert.Equal(m.Probabilities(m.Encode(ctx)), back.Probabilities(back.Encode(ctx)));
    }

    [Theory]
    [InlineData("{\"format\": \"other/v1\"}", "$.format")]
    [InlineData("{\"format\": \"lmexplore.ngram/v1\", \"level\": \"char\", \"order\": 2, \"vocab\": [\"</s>\", \"a\"], \"ngrams\": [[-1, 5, 1]]}", "$.ngrams[0][1]")]
    [InlineData("{\"format\": \"lmexplore.ngram/v1\", \"level\": \"byte\"}", "$.level")]
    [InlineData("not json", "")]
    public void BadModelFile_IsAOneLineInputError(string text, string path)
    {
        using var dir = new TempDirectory("ngram-bad");
        var file = dir.Write("bad.json", text);
        var e = Assert.Throws<InputException>(() => NGramModel.Load(file));
        Assert.Contains(path, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void SampledFirstTokens_AgreeWithTheReportedProbabilities_ChiSquare()
    {
        var m = NGramModel.Train(LettersTask.Corpus(11, 500), 3, NGramLevel.Char);
        var prompt = m.Encode("ad>");
        var probs = m.Probabilities(prompt);
        var counts = new long[m.VocabSize];
        var rng = new Rng(123);
        const int n = 20000;
        for (int i = 0; i < n; i++)
        {
            var s = m.SampleOne(prompt, 1, rng);
            counts[s.Tokens.Length == 0 ? m.Eos : s.Tokens[0]]++;
        }
        Assert.True(ChiSquare.PValue(counts, probs) > 1e-3, "first-token frequencies disagree with the model's probabilities");
    }

    [Fact]
    public void SequenceLogProb_IsTheSumOfTokenLogProbs_AndSeedsRepeat()
    {
        var m = NGramModel.Train(LettersTask.Corpus(5, 500), 3, NGramLevel.Char);
        var prompt = m.Encode("bc>");
        var a = new Rng(9);
        var b = new Rng(9);
        for (int i = 0; i < 50; i++)
        {
            var s = m.SampleOne(prompt, 6, a);
            var t = m.SampleOne(prompt, 6, b);
            Assert.Equal(s.Tokens, t.Tokens);
            Assert.Equal(s.LogProb, m.Score(prompt, s.Tokens, s.End), 12);
        }
    }
}
