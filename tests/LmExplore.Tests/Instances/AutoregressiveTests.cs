using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;
using LmExplore.Numerics;

namespace LmExplore.Tests.Instances;

public sealed class AutoregressiveTests : IDisposable
{
    private readonly TempDirectory _temp = new("lmexplore-ar-");

    public void Dispose() => _temp.Dispose();

    private string WriteFile(string name, string text) => _temp.Write(name, text);

    private const string Good = """
        { "format": "lmexplore.autoregressive/v1",
          "beta": 0.1, "horizon": 8, "vocab": 2, "states": 3, "featureDim": 2,
          "theta": [1.0, 0.0], "noise": { "kind": "none" },
          "prompts": [ { "weight": 1.0, "initialState": 0 } ],
          "transition": [[1, 2], [0, 2], [2, 2]],
          "refProbs":   [[0.5, 0.5], [0.9, 0.1], [0.5, 0.5]],
          "tokenFeatures": [[[1, 0], [0, 1]], [[1, 0], [0, 1]], [[0, 0], [0, 0]]] }
        """;

    [Fact]
    public void ReadsTheSpecExample()
    {
        var loaded = InstanceCatalog.Load(WriteFile("ar.json", Good));
        Assert.True(loaded.IsAutoregressive);
        var inst = loaded.Autoregressive!;
        Assert.Equal((8, 2, 3, 2), (inst.Horizon, inst.Vocab, inst.States, inst.Dimension));
        Assert.Equal(2, inst.Next(0, 1));
        Assert.Equal(Math.Log(0.9), inst.LogRefRow(1)[0]);
        Assert.Equal(1.0, inst.TokenReward(1, 0));
        Assert.Equal(NoiseModel.None, inst.Noise);
        // An autoregressive file where an enumerable instance is needed is a clear input error.
        var ex = Assert.Throws<InputException>(() => InstanceCatalog.Create(Path.Combine(_temp.Path, "ar.json"), new Dictionary<string, string>(), 0));
        Assert.Contains("autoregressive", ex.Message);
    }

    public static TheoryData<string, string, string> BadFiles => new()
    {
        { "horizon-zero", Good.Replace("\"horizon\": 8", "\"horizon\": 0"), "$.horizon: must be in [1, 1000000] (got 0)" },
        { "vocab-missing", Good.Replace("\"vocab\": 2,", ""), "$.vocab: missing" },
        { "states-string", Good.Replace("\"states\": 3", "\"states\": \"3\""), "$.states: must be a number, not a string" },
        { "transition-range", Good.Replace("[[1, 2], [0, 2]", "[[1, 3], [0, 2]"), "$.transition[0][1]: must be a state in [0, 3) (got 3)" },
        { "transition-negative", Good.Replace("[[1, 2], [0, 2]", "[[1, -1], [0, 2]"), "$.transition[0][1]: must be ≥ 0 (got -1)" },
        { "transition-rows", Good.Replace("[[1, 2], [0, 2], [2, 2]]", "[[1, 2], [0, 2]]"), "$.transition: has 2 rows, but states is 3" },
        { "transition-cols", Good.Replace("[[1, 2], [0, 2], [2, 2]]", "[[1, 2], [0, 2, 1], [2, 2]]"), "$.transition[1]: has 3 entries, but vocab is 2" },
        { "refprobs-zero", Good.Replace("[0.9, 0.1]", "[1.0, 0]"), "$.refProbs[1][1]: must be > 0 (got 0)" },
        { "refprobs-sum", Good.Replace("[0.9, 0.1]", "[0.9, 0.2]"), "$.refProbs[1]: probabilities must sum to 1" },
        { "refprobs-nan", Good.Replace("[0.9, 0.1]", "[0.9, NaN]"), "$.refProbs[1][1]: invalid JSON at line" },
        { "features-shape", Good.Replace("[[0, 0], [0, 0]]]", "[[0, 0], [0]]]"), "$.tokenFeatures[2][1]: has 1 numbers, but featureDim is 2" },
        { "features-rows", Good.Replace("[[[1, 0], [0, 1]], ", "["), "$.tokenFeatures: has 2 rows, but states is 3" },
        { "theta-length", Good.Replace("[1.0, 0.0]", "[1.0]"), "$.theta: has 1 numbers, but featureDim is 2" },
        { "initial-state", Good.Replace("\"initialState\": 0", "\"initialState\": 3"), "$.prompts[0].initialState: must be in [0, 3) since states is 3 (got 3)" },
        { "weight-sum", Good.Replace("\"weight\": 1.0", "\"weight\": 0.5"), "$.prompts[*].weight: prompt weights must sum to 1" },
        { "beta-inf", Good.Replace("\"beta\": 0.1", "\"beta\": 1e999"), "$.beta: number out of range of a double (got 1e999)" },
        { "format-v2", Good.Replace("autoregressive/v1", "autoregressive/v2"), "$.format: unsupported format 'lmexplore.autoregressive/v2'" },
        { "bernoulli-range", Good.Replace("\"kind\": \"none\"", "\"kind\": \"bernoulli\""), "$.noise.kind: 'bernoulli' needs every sequence reward in [0,1], but they range over [0, 8]" },
        { "duplicate", Good.Replace("\"vocab\": 2,", "\"vocab\": 2, \"vocab\": 2,"), "$.vocab: duplicate key" },
        { "unknown", Good.Replace("\"vocab\": 2,", "\"vocab\": 2, \"vocabulary\": 2,"), "$.vocabulary: unknown field (did you mean 'vocab'?" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadFileGivesOneLineInputErrorWithPath(string name, string content, string expected)
    {
        string path = WriteFile(name + ".json", content);
        var ex = Assert.Throws<InputException>(() => InstanceCatalog.Load(path));
        Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), ex.Message);
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void NormalizeRescalesRows()
    {
        string path = WriteFile("n.json", Good.Replace("[0.9, 0.1]", "[9, 1]").Replace("\"weight\": 1.0", "\"weight\": 3"));
        var inst = InstanceCatalog.Load(path, normalize: true).Autoregressive!;
        Assert.Equal(Math.Log(0.9), inst.LogRefRow(1)[0], 14);
        Assert.Equal(1.0, inst.Prompts[0].Weight);
    }

    /// <summary>A random tiny instance: S states, V tokens, horizon H, two prompts.</summary>
    internal static AutoregressiveInstance RandomInstance(ulong seed, int S, int V, int H, int d, double beta, double scale, NoiseModel? noise = null)
    {
        var rng = new Rng(seed);
        var theta = new double[d];
        for (int k = 0; k < d; k++) theta[k] = scale * rng.NextGaussian();
        var transition = new int[S * V];
        for (int i = 0; i < transition.Length; i++) transition[i] = rng.NextInt(S);
        var logRef = new double[S * V];
        for (int s = 0; s < S; s++)
        {
            var row = logRef.AsSpan(s * V, V);
            for (int a = 0; a < V; a++) row[a] = 3 * rng.NextGaussian();
            double lse = LogMath.LogSumExp(row);
            for (int a = 0; a < V; a++) row[a] -= lse;
        }
        var features = new double[S * V * d];
        for (int i = 0; i < features.Length; i++) features[i] = rng.NextDouble() * 2 - 1;
        var prompts = new[] { new AutoregressivePrompt(0.3, 0), new AutoregressivePrompt(0.7, S - 1) };
        return new AutoregressiveInstance($"random-{seed}", beta, H, V, S, theta, noise ?? NoiseModel.None, prompts, transition, logRef, features);
    }

    [Theory]
    [InlineData(1UL, 3, 3, 4, 2, 0.3, 1.0)]
    [InlineData(2UL, 4, 2, 6, 3, 0.05, 1.0)]
    [InlineData(3UL, 2, 4, 3, 2, 1e-3, 50.0)]
    [InlineData(4UL, 1, 3, 5, 1, 2.0, 1.0)]
    public void DynamicProgrammingMatchesBruteForceEnumeration(ulong seed, int S, int V, int H, int d, double beta, double scale)
    {
        var inst = RandomInstance(seed, S, V, H, d, beta, scale);
        var flat = inst.ToEnumerable();
        Assert.Equal((int)Math.Pow(V, H), flat.Prompts[0].ResponseCount);

        double jOpt = AutoregressiveEvaluator.OptimalValue(inst);
        double jRef = AutoregressiveEvaluator.ReferenceValue(inst);
        double logCov = AutoregressiveEvaluator.LogCoverageOfOptimal(inst);
        double avgCov = AutoregressiveEvaluator.AverageCoverageOfOptimal(inst);
        Assert.True(double.IsFinite(jOpt) && double.IsFinite(jRef) && double.IsFinite(logCov));
        AssertClose(ExactEvaluator.OptimalValue(flat), jOpt, 1e-9);
        AssertClose(ExactEvaluator.ReferenceValue(flat), jRef, 1e-9);
        AssertClose(ExactEvaluator.LogCoverageOfOptimal(flat), logCov, 1e-9);
        if (double.IsFinite(avgCov)) AssertClose(ExactEvaluator.AverageCoverageOfOptimal(flat), avgCov, 1e-8);
        var (min, max) = inst.RewardRange();
        AssertClose(flat.Prompts.Min(p => p.Rewards.Min()), min, 1e-9);
        AssertClose(flat.Prompts.Max(p => p.Rewards.Max()), max, 1e-9);

        // C_cond by brute force: marginals of π* over prefixes from the enumerated sequence distribution.
        double bruteLogCond = double.NegativeInfinity;
        for (int x = 0; x < flat.Prompts.Count; x++)
        {
            var p = flat.Prompts[x];
            double logZ = ExactEvaluator.LogPartition(p, beta);
            int n = p.ResponseCount;
            var logStar = new double[n];
            for (int y = 0; y < n; y++) logStar[y] = p.LogRefProbs[y] + p.Rewards[y] / beta - logZ;
            for (int h = 1; h <= H; h++)
            {
                int block = (int)Math.Pow(V, H - h);        // sequences sharing a prefix of length h
                for (int prefix = 0; prefix < n / block; prefix++)
                {
                    double logMarg = LogMath.LogSumExp(logStar.AsSpan(prefix * block, block));
                    double logParent = LogMath.LogSumExp(logStar.AsSpan(prefix / V * block * V, block * V));
                    // π_ref(a_h | s_{h-1}) along the prefix.
                    int s = inst.Prompts[x].InitialState;
                    var tokens = new int[h];
                    for (int k = h - 1, rest = prefix; k >= 0; k--, rest /= V) tokens[k] = rest % V;
                    for (int k = 0; k < h - 1; k++) s = inst.Next(s, tokens[k]);
                    double logRatio = logMarg - logParent - inst.LogRefRow(s)[tokens[h - 1]];
                    bruteLogCond = Math.Max(bruteLogCond, logRatio);
                }
            }
        }
        AssertClose(bruteLogCond, AutoregressiveEvaluator.LogConditionalCoverageOfOptimal(inst), 1e-7);
    }

    private static void AssertClose(double expected, double actual, double rel)
        => Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");

    [Fact]
    public void CondCoverageCanBeExponentiallySmallerThanCoverage()
    {
        // One state, two tokens, uniform π_ref, reward 1 per token 1: π* is i.i.d. per token, so
        // C_cond = 2e^{1/β}/(1+e^{1/β}) < 2 while C_cov = C_cond^H.
        int H = 30;
        var inst = new AutoregressiveInstance("iid", 0.5, H, 2, 1, [1.0], NoiseModel.None, [new AutoregressivePrompt(1, 0)],
            [0, 0], [Math.Log(0.5), Math.Log(0.5)], [0.0, 1.0]);
        double logCond = AutoregressiveEvaluator.LogConditionalCoverageOfOptimal(inst);
        Assert.Equal(Math.Log(2 * Math.Exp(2) / (1 + Math.Exp(2))), logCond, 12);
        Assert.Equal(H * logCond, AutoregressiveEvaluator.LogCoverageOfOptimal(inst), 9);
        Assert.True(AutoregressiveEvaluator.ConditionalCoverageOfOptimal(inst) < 2);
    }

    [Fact]
    public void TinyBetaLargeRewardsStayFinite()
    {
        var inst = RandomInstance(9, 5, 6, 40, 3, 1e-4, 50.0);
        var s = AutoregressiveEvaluator.Summarize(inst);
        Assert.True(double.IsFinite(s.JOpt) && double.IsFinite(s.JRef));
        Assert.True(s.JOpt >= s.JRef - 1e-9);
        Assert.True(s.JOpt <= s.RMax + 1e-9);
        Assert.True(double.IsFinite(AutoregressiveEvaluator.LogCoverageOfOptimal(inst)));
        Assert.True(double.IsFinite(AutoregressiveEvaluator.LogConditionalCoverageOfOptimal(inst)));
    }

    [Fact]
    public void WriteReadRoundTrip()
    {
        var inst = RandomInstance(5, 3, 4, 6, 2, 0.2, 1.0, NoiseModel.Gaussian(0.25));
        string path = Path.Combine(_temp.Path, "rt.json");
        AutoregressiveJson.Write(inst, path);
        var back = InstanceCatalog.Load(path).Autoregressive!;
        Assert.Equal(inst.Name, back.Name);
        Assert.Equal(inst.Noise, back.Noise);
        Assert.Equal(inst.Theta, back.Theta);
        Assert.True(inst.Transitions.SequenceEqual(back.Transitions));
        Assert.True(inst.TokenFeatures.SequenceEqual(back.TokenFeatures));
        for (int i = 0; i < inst.LogRefProbs.Length; i++) Assert.Equal(inst.LogRefProbs[i], back.LogRefProbs[i], 14);
        AssertClose(AutoregressiveEvaluator.OptimalValue(inst), AutoregressiveEvaluator.OptimalValue(back), 1e-12);
    }
}
