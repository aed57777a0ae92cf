using System.Buffers.Binary;
using LmExplore.LanguageModels;
using LmExplore.Numerics;

namespace LmExplore.Tests.LanguageModels;

/// <summary>
/// A float64 forward pass of a llama-architecture GGUF with F32 tensors, written from the file format and the
/// architecture alone (nothing shared with llama.cpp): token embedding; per layer RMS norm, attention with RoPE on
/// adjacent pairs (base <c>rope.freq_base</c>, 10 000 by default), causal softmax scaled by 1/√head size, grouped
/// key/value heads, SwiGLU feed-forward, each with a residual; final RMS norm and the output matrix (the embedding when
/// <c>output.weight</c> is absent). A matrix stored with dims [in, out] has row o at elements o·in … o·in + in − 1.
/// </summary>
internal sealed class ReferenceLlama
{
    private readonly byte[] _bytes;
    private readonly GgufFile _file;
    private readonly int _dim, _layers, _heads, _headsKv, _ff, _vocab;
    private readonly double _eps, _ropeBase;

    public ReferenceLlama(string path)
    {
        _file = GgufFile.Read(path);
        _bytes = File.ReadAllBytes(path);
        long Int(string key) => _file.Value(key)!.Integers![0];
        _dim = (int)Int("llama.embedding_length");
        _layers = (int)Int("llama.block_count");
        _heads = (int)Int("llama.attention.head_count");
        _headsKv = _file.Value("llama.attention.head_count_kv") is null ? _heads : (int)Int("llama.attention.head_count_kv");
        _ff = (int)Int("llama.feed_forward_length");
        _eps = _file.Value("llama.attention.layer_norm_rms_epsilon")!.Floats![0];
        _ropeBase = _file.Value("llama.rope.freq_base")?.Floats![0] ?? 10000;
        _vocab = _file.Value("tokenizer.ggml.tokens")!.Count;
    }

    private double[] Tensor(string name)
    {
        var t = _file.Tensor(name) ?? throw new InvalidOperationException($"no tensor {name}");
        Assert.Equal(0u, t.Type); // F32
        var span = _bytes.AsSpan((int)(_file.DataOffset + t.Offset), (int)t.Bytes);
        var a = new double[t.Bytes / 4];
        for (int i = 0; i < a.Length; i++) a[i] = BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]);
        return a;
    }

    private static double[] MatVec(double[] w, double[] x, int outputs)
    {
        int inputs = x.Length;
        var y = new double[outputs];
        for (int o = 0; o < outputs; o++)
        {
            double s = 0;
            for (int i = 0; i < inputs; i++) s += w[(long)o * inputs + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    private double[] RmsNorm(double[] x, double[] weight)
    {
        double ms = x.Sum(v => v * v) / x.Length;
        double scale = 1 / Math.Sqrt(ms + _eps);
        return x.Select((v, i) => v * scale * weight[i]).ToArray();
    }

    private void Rope(double[] v, int heads, int headSize, int pos)
    {
        for (int h = 0; h < heads; h++)
            for (int j = 0; j < headSize / 2; j++)
            {
                double theta = pos * Math.Pow(_ropeBase, -2.0 * j / headSize);
                int a = h * headSize + 2 * j;
                double x0 = v[a], x1 = v[a + 1];
                v[a] = x0 * Math.Cos(theta) - x1 * Math.Sin(theta);
                v[a + 1] = x0 * Math.Sin(theta) + x1 * Math.Cos(theta);
            }
    }

    /// <summary>log-softmax of the next-token logits after <paramref name="tokens"/> (BOS included by the caller).</summary>
    public double[] NextTokenLogProbs(IReadOnlyList<int> tokens)
    {
        int n = tokens.Count, headSize = _dim / _heads, group = _heads / _headsKv;
        var embd = Tensor("token_embd.weight");
        var x = tokens.Select(t => embd.AsSpan(t * _dim, _dim).ToArray()).ToArray();
        for (int l = 0; l < _layers; l++)
        {
            string b = $"blk.{l}.";
            double[] wq = Tensor(b + "attn_q.weight"), wk = Tensor(b + "attn_k.weight"), wv = Tensor(b + "attn_v.weight"), wo = Tensor(b + "attn_output.weight");
            double[] attnNorm = Tensor(b + "attn_norm.weight"), ffnNorm = Tensor(b + "ffn_norm.weight");
            double[] gate = Tensor(b + "ffn_gate.weight"), up = Tensor(b + "ffn_up.weight"), down = Tensor(b + "ffn_down.weight");
            var q = new double[n][];
            var k = new double[n][];
            var v = new double[n][];
            for (int p = 0; p < n; p++)
            {
                var h = RmsNorm(x[p], attnNorm);
                q[p] = MatVec(wq, h, _heads * headSize);
                k[p] = MatVec(wk, h, _headsKv * headSize);
                v[p] = MatVec(wv, h, _headsKv * headSize);
                Rope(q[p], _heads, headSize, p);
                Rope(k[p], _headsKv, headSize, p);
            }
            for (int p = 0; p < n; p++)
            {
                var attn = new double[_heads * headSize];
                for (int hd = 0; hd < _heads; hd++)
                {
                    int kv = hd / group;
                    var scores = new double[p + 1];
                    for (int s = 0; s <= p; s++)
                    {
                        double dot = 0;
                        for (int i = 0; i < headSize; i++) dot += q[p][hd * headSize + i] * k[s][kv * headSize + i];
                        scores[s] = dot / Math.Sqrt(headSize);
                    }
                    double max = scores.Max(), sum = scores.Sum(z => Math.Exp(z - max));
                    for (int s = 0; s <= p; s++)
                    {
                        double weight = Math.Exp(scores[s] - max) / sum;
                        for (int i = 0; i < headSize; i++) attn[hd * headSize + i] += weight * v[s][kv * headSize + i];
                    }
                }
                var o = MatVec(wo, attn, _dim);
                for (int i = 0; i < _dim; i++) x[p][i] += o[i];
                var h2 = RmsNorm(x[p], ffnNorm);
                var g = MatVec(gate, h2, _ff);
                var u = MatVec(up, h2, _ff);
                var act = g.Select((gi, i) => gi / (1 + Math.Exp(-gi)) * u[i]).ToArray();
                var d = MatVec(down, act, _dim);
                for (int i = 0; i < _dim; i++) x[p][i] += d[i];
            }
        }
        var final = RmsNorm(x[n - 1], Tensor("output_norm.weight"));
        var logits = MatVec(_file.Tensor("output.weight") is null ? embd : Tensor("output.weight"), final, _vocab);
        double m = logits.Max(), log = m + Math.Log(logits.Sum(z => Math.Exp(z - m)));
        return logits.Select(z => z - log).ToArray();
    }
}

/// <summary>
/// The GGUF path's log-probabilities against <see cref="ReferenceLlama"/> on the same file: with flash attention off
/// and an F32 KV cache they agree to float rounding, here within 1e-4 per token for every token of the vocabulary.
/// </summary>
public class GgufExactnessTests : IDisposable
{
    private readonly TempDirectory _dir = new("gguf-exact");
    public void Dispose() => _dir.Dispose();

    [Fact]
    public void LogProbabilities_MatchAFloat64ForwardPass()
    {
        string path = GgufFixtures.Tiny(_dir.Path, "tiny.gguf");
        var reference = new ReferenceLlama(path);
        using var model = GgufModel.Load(path);
        var rng = new Rng(11);
        var contexts = new List<int[]> { Array.Empty<int>(), model.Encode("ad>"), model.Encode("hello world") };
        for (int i = 0; i < 3; i++) contexts.Add([.. model.Encode("cf>"), .. Enumerable.Range(0, 5 + 10 * i).Select(_ => 3 + rng.NextInt(model.VocabSize - 3))]);
        var lp = new double[model.VocabSize];
        double worst = 0;
        foreach (var context in contexts)
        {
            // Also through the cache: each context after the previous one shares no prefix or a long one.
            model.NextTokenLogProbs(context, lp);
            var exact = reference.NextTokenLogProbs([1, .. context]);
            for (int t = 0; t < lp.Length; t++) worst = Math.Max(worst, Math.Abs(lp[t] - exact[t]));
            model.NextTokenLogProbs(context[..^Math.Min(1, context.Length)], lp); // a shorter context: the next call decodes one token after the cache
            model.NextTokenLogProbs(context, lp);
            for (int t = 0; t < lp.Length; t++) worst = Math.Max(worst, Math.Abs(lp[t] - exact[t]));
        }
        Assert.True(worst <= 1e-4, $"largest difference {worst:E2} per token");
    }

    [Fact]
    public void TheReference_IsAProperDistribution_AndSeesTheContext()
    {
        var reference = new ReferenceLlama(GgufFixtures.Tiny(_dir.Path, "tiny.gguf"));
        var a = reference.NextTokenLogProbs([1, 260, 263]);
        var b = reference.NextTokenLogProbs([1, 263, 260]);
        Assert.Equal(1.0, a.Sum(Math.Exp), 12);
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) > 1e-3); // order matters: attention and RoPE are in play
    }
}
