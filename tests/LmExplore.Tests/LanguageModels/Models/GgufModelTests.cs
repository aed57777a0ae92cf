using System.Diagnostics;
using LmExplore.Experiments;
using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Text;

namespace LmExplore.Tests.LanguageModels.Models;

/// <summary>The tiny GGUF the project writes itself, loaded by llama.cpp through LLamaSharp.</summary>
public class GgufModelTests : IClassFixture<GgufModelTests.TinyModelFile>
{
    /// <summary>One tiny model file for the class.</summary>
    public sealed class TinyModelFile : IDisposable
    {
        private readonly TempDirectory _dir = new("gguf");
        public TinyModelFile()
        {
            Path = System.IO.Path.Combine(_dir.Path, "tiny.gguf");
            GgufWriter.WriteTinyLlama(Path, seed: 1);
        }
        public string Path { get; }
        public void Dispose() => _dir.Dispose();
    }

    private readonly string _path;
    public GgufModelTests(TinyModelFile file) => _path = file.Path;

    [Fact]
    public void LoadsTokenizesAndNormalises()
    {
        var clock = Stopwatch.StartNew();
        using var m = GgufModel.Load(_path);
        Assert.True(clock.Elapsed.TotalSeconds < 5, $"load took {clock.Elapsed.TotalSeconds} s");
        Assert.Equal("gguf", m.Kind);
        Assert.Equal(3 + 256 + 46, m.VocabSize);
        Assert.Equal(2, m.Eos);
        Assert.Equal(32, m.EmbeddingSize);
        var ids = m.Encode("ad>");
        Assert.Equal(3, ids.Length);
        Assert.Equal("ad>", m.Decode(ids));
        Assert.Equal("héllo wörld", m.Decode(m.Encode("héllo wörld"))); // byte fallback for é, ö
        var lp = new double[m.VocabSize];
        m.NextTokenLogProbs(ids, lp);
        Assert.Equal(1.0, lp.Sum(Math.Exp), 9);
        Assert.All(lp, x => Assert.True(double.IsFinite(x)));
    }

    [Fact]
    public void SampledNextTokens_AgreeWithTheReportedLogProbs_ChiSquare()
    {
        using var m = GgufModel.Load(_path);
        var prompt = m.Encode("ad>");
        var lp = new double[m.VocabSize];
        m.NextTokenLogProbs(prompt, lp);
        var probs = lp.Select(Math.Exp).ToArray();
        var counts = new long[m.VocabSize];
        var rng = new Rng(77);
        const int n = 20000;
        for (int i = 0; i < n; i++)
        {
            var s = m.SampleOne(prompt, 1, rng); // a real model call per draw (the KV cache serves the prompt)
            counts[s.Tokens.Length == 0 ? m.Eos : s.Tokens[0]]++;
        }
        double p = ChiSquare.PValue(counts, probs);
        Assert.True(p > 1e-3, $"chi-square p = {p}: sampled next tokens disagree with the model's log-probabilities");
    }

    /// <summary>Two-token samples: every second step is a fresh llama.cpp decode after a random first token, so this checks the
    /// model calls themselves, not only the sampler: the second token's marginal Σ_a1 p(a1)·p(a2|a1) against its frequencies.</summary>
    [Fact]
    public void SecondTokenMarginal_AgreesWithTheModel_ChiSquare()
    {
        using var m = GgufModel.Load(_path);
        var prompt = m.Encode("cf>");
        var first = new double[m.VocabSize];
        m.NextTokenLogProbs(prompt, first);
        var marginal = new double[m.VocabSize];
        var lp = new double[m.VocabSize];
        var ctx = prompt.Append(0).ToArray();
        for (int a1 = 0; a1 < m.VocabSize; a1++)
        {
            double p1 = Math.Exp(first[a1]);
            if (a1 == m.Eos) { marginal[m.Eos] += p1; continue; } // ended: counted as EOS below
            ctx[^1] = a1;
            m.NextTokenLogProbs(ctx, lp);
            for (int a2 = 0; a2 < m.VocabSize; a2++) marginal[a2] += p1 * Math.Exp(lp[a2]);
        }
        var counts = new long[m.VocabSize];
        var rng = new Rng(31);
        for (int i = 0; i < 3000; i++)
        {
            var s = m.SampleOne(prompt, 2, rng);
            counts[s.Tokens.Length < 2 ? m.Eos : s.Tokens[1]]++;
        }
        double p = ChiSquare.PValue(counts, marginal);
        Assert.True(p > 1e-3, $"chi-square p = {p}");
    }

    [Fact]
    public void SequenceLogProbs_FromTheCache_MatchAFreshModel_AndSeedsRepeat()
    {
        using var a = GgufModel.Load(_path);
        using var b = GgufModel.Load(_path);
        var prompt = a.Encode("be>");
        var r1 = new Rng(5);
        var r2 = new Rng(5);
        for (int i = 0; i < 10; i++)
        {
            var s = a.SampleOne(prompt, 6, r1);
            var t = b.SampleOne(prompt, 6, r2);
            Assert.Equal(s.Tokens, t.Tokens);
            Assert.Equal(s.LogProb, t.LogProb);
            // b re-scores the sequence along another cache path (a different prefix was cached last).
            Assert.Equal(s.LogProb, b.Score(prompt, s.Tokens, s.End), 3);
        }
    }

    [Fact]
    public void Embeddings_HaveTheModelsDimension()
    {
        using var m = GgufModel.Load(_path);
        var f = new EmbeddingFeatures(m.Embedder!);
        var phi = new double[f.Dimension];
        f.Compute("ad>", "abc", phi);
        Assert.Equal(1.0, Math.Sqrt(phi.Sum(x => x * x)), 9);
        var again = new double[f.Dimension];
        f.Compute("ad>", "abc", again);
        Assert.Equal(phi, again);
    }

    [Fact]
    public void BadFiles_AreOneLineInputErrors()
    {
        using var dir = new TempDirectory("gguf-bad");
        var e1 = Assert.Throws<InputException>(() => GgufModel.Load(Path.Combine(dir.Path, "missing.gguf")));
        Assert.Contains("file not found", e1.Message);
        var e2 = Assert.Throws<InputException>(() => GgufModel.Load(dir.Write("text.gguf", "hello, not a model")));
        Assert.Contains("not a GGUF file", e2.Message);
        var truncated = Path.Combine(dir.Path, "truncated.gguf");
        File.WriteAllBytes(truncated, File.ReadAllBytes(_path)[..4096]);
        var e3 = Assert.Throws<InputException>(() => GgufModel.Load(truncated));
        Assert.Contains("metadata key 'tokenizer.ggml.tokens'", e3.Message);
        Assert.DoesNotContain('\n', e3.Message);
    }

    [Fact]
    public void WhatOnlyLlamaCppRefuses_IsReportedWithItsReason()
    {
        using var dir = new TempDirectory("gguf-reason");
        // Valid as far as the validator goes (expert tensors are left to llama.cpp), refused by llama.cpp.
        string experts = GgufFixtures.Tiny(dir.Path, "experts.gguf", w => w.Add("llama.expert_count", 4u).Add("llama.expert_used_count", 1u));
        var e = Assert.Throws<InputException>(() => GgufModel.Load(experts));
        Assert.Equal($"{experts}: llama.cpp could not load the model (missing tensor 'blk.0.ffn_gate_inp.weight')", e.Message);
        string foo = GgufFixtures.Tiny(dir.Path, "foo.gguf", w => w.Add("general.architecture", "foo")
            .Add("foo.context_length", 256u).Add("foo.embedding_length", 32u).Add("foo.block_count", 2u));
        var e2 = Assert.Throws<InputException>(() => GgufModel.Load(foo));
        Assert.Contains("llama.cpp could not load the model (", e2.Message);
        Assert.Contains("unknown model architecture: 'foo'", e2.Message);
        Assert.DoesNotContain("failed to load model", e2.Message);
    }

    [Fact]
    public void TokensLongerThanTheDecodeBuffer_DecodeWhole()
    {
        using var dir = new TempDirectory("gguf-long");
        string ascii = new('x', 100), utf8 = string.Concat(Enumerable.Repeat("é", 40)) + "ü"; // 100 and 82 bytes
        string path = GgufFixtures.Tiny(dir.Path, "long.gguf", options: new TinyLlamaOptions { Pieces = [.. GgufWriter.TinyPieces, ascii, utf8] });
        using var m = GgufModel.Load(path);
        int a = m.VocabSize - 2, b = m.VocabSize - 1;
        Assert.Equal(ascii, m.Decode([a]));
        Assert.Equal(utf8, m.Decode([b]));
        Assert.Equal("ab" + ascii + utf8 + "c" + ascii, m.Decode([.. m.Encode("ab"), a, b, .. m.Encode("c"), a]));
    }

    [Fact]
    public void NonFiniteLogitsForSomeContext_AreAnError_AndTheModelRecovers()
    {
        using var dir = new TempDirectory("gguf-row");
        // An untied output matrix and one NaN row of the embedding: the logits after BOS are finite, after 'z' they are not.
        int vocab = GgufFixtures.TinyTokens().Count, z = GgufFixtures.TinyTokens().IndexOf("z");
        var embd = Enumerable.Range(0, 32 * vocab).Select(i => i / 32 == z ? float.NaN : (float)(0.1 * Math.Sin(i))).ToArray();
        var output = Enumerable.Range(0, 32 * vocab).Select(i => (float)(0.1 * Math.Cos(i))).ToArray();
        string path = GgufFixtures.Tiny(dir.Path, "row.gguf", w => w.Tensor("token_embd.weight", [32, vocab], embd).Tensor("output.weight", [32, vocab], output));
        using var m = GgufModel.Load(path);
        var lp = new double[m.VocabSize];
        m.NextTokenLogProbs(m.Encode("ab"), lp);
        var e = Assert.Throws<InputException>(() => m.NextTokenLogProbs(m.Encode("abz"), lp));
        Assert.Contains("llama.cpp gave a non-finite logit", e.Message);
        Assert.Contains("after 4 tokens of context", e.Message);
        var again = new double[m.VocabSize];
        m.NextTokenLogProbs(m.Encode("ab"), again);
        Assert.Equal(lp, again);
    }
}
