using System.Diagnostics;
using LmExplore.Evaluation;
using LmExplore.Experiments;
using LmExplore.Instances;

namespace LmExplore.Tests.Instances;

public sealed class InstanceJsonTests : IDisposable
{
    private readonly TempDirectory _temp = new("lmexplore-inst-");

    public void Dispose() => _temp.Dispose();

    private string WriteFile(string name, string text) => _temp.Write(name, text);

    private const string Good = """
        { "format": "lmexplore.instance/v1",
          "beta": 0.1, "featureDim": 3, "theta": [1.0, 0.0, -0.5],
          "noise": { "kind": "gaussian", "sigma": 0.1 },
          "prompts": [ { "weight": 0.5,
                         "responses": [ { "refProb": 0.7, "features": [0.1, 0.2, 0.0], "text": "optional" },
                                        { "refProb": 0.3, "features": [0.0, 0.5, 0.5] } ] },
                       { "weight": 0.50,
                         "responses": [ { "refProb": 1.0, "features": [0.3, 0.2, 0.1] } ] } ] }
        """;

    [Fact]
    public void ReadsTheSpecExample()
    {
        var inst = InstanceCatalog.Create(WriteFile("good.json", Good), new Dictionary<string, string>(), 0);
        Assert.Equal(0.1, inst.Beta);
        Assert.Equal(3, inst.Dimension);
        Assert.Equal(2, inst.Prompts.Count);
        Assert.Equal(NoiseModel.Gaussian(0.1), inst.Noise);
        Assert.Equal("optional", inst.Prompts[0].Texts![0]);
        Assert.Null(inst.Prompts[0].Texts![1]);
        Assert.Null(inst.Prompts[1].Texts);
        Assert.Equal(1.0 * 0.1 - 0.5 * 0.0, inst.Prompts[0].Rewards[0], 15);
        Assert.Equal(Math.Log(0.3), inst.Prompts[0].LogRefProbs[1]);
        Assert.Equal("good.json", inst.Name);
        var loaded = InstanceCatalog.Load(Path.Combine(_temp.Path, "good.json"));
        Assert.True(loaded.IsEnumerable);
        Assert.False(loaded.IsAutoregressive);
    }

    public static TheoryData<string, string, string> BadFiles => new()
    {
        // name, file content, expected message fragment (JSON path + reason)
        { "empty", "", "file is empty" },
        { "blank", "  \n ", "file is empty" },
        { "truncated", Good[..(Good.Length / 2)], "invalid JSON" },
        { "truncated-in-string", Good[..(Good.IndexOf("optional") + 3)], "$.prompts[0].responses[0].text: invalid JSON at line 5, column" },
        { "truncated-after-key", Good[..(Good.IndexOf("\"theta\":") + 8)], "file ends too early" },
        { "trailing-garbage", Good + " xyz", "$: invalid JSON at line 8, column 89: 'x' is invalid after a single JSON value" },
        { "not-object", "[1, 2]", "$: must be an object (got an array)" },
        { "nan", Good.Replace("\"beta\": 0.1", "\"beta\": NaN"), "$.beta: invalid JSON" },
        { "infinity", Good.Replace("\"refProb\": 0.3", "\"refProb\": Infinity"), "$.prompts[0].responses[1].refProb: invalid JSON" },
        { "overflow", Good.Replace("[0.1, 0.2, 0.0]", "[0.1, 1e400, 0.0]"), "$.prompts[0].responses[0].features[1]: number out of range of a double (got 1e400)" },
        { "string-number", Good.Replace("\"beta\": 0.1", "\"beta\": \"0.1\""), "$.beta: must be a number, not a string (got \"0.1\")" },
        { "missing-beta", Good.Replace("\"beta\": 0.1,", ""), "$.beta: missing" },
        { "missing-features", Good.Replace(", \"features\": [0.3, 0.2, 0.1]", ""), "$.prompts[1].responses[0].features: missing" },
        { "missing-refprob", Good.Replace("\"refProb\": 1.0, ", ""), "$.prompts[1].responses[0].refProb: missing" },
        { "missing-format", Good.Replace("\"format\": \"lmexplore.instance/v1\",", ""), "$.format: missing" },
        { "wrong-type-theta", Good.Replace("[1.0, 0.0, -0.5]", "{}"), "$.theta: must be an array (got an object)" },
        { "wrong-type-prompts", Good[..Good.IndexOf("\"prompts\"")] + "\"prompts\": 3 }", "$.prompts: must be an array (got a number)" },
        { "wrong-type-text", Good.Replace("\"optional\"", "5"), "$.prompts[0].responses[0].text: must be a string" },
        { "negative-prob", Good.Replace("\"refProb\": 0.3", "\"refProb\": -0.1"), "$.prompts[0].responses[1].refProb: must be > 0 (got -0.1)" },
        { "zero-prob", Good.Replace("\"refProb\": 0.3", "\"refProb\": 0"), "$.prompts[0].responses[1].refProb: must be > 0 (got 0)" },
        { "underflow-prob", Good.Replace("\"refProb\": 0.3", "\"refProb\": 1e-400"), "$.prompts[0].responses[1].refProb: must be > 0 (got 1e-400)" },
        { "unnormalized", Good.Replace("\"refProb\": 0.3", "\"refProb\": 0.31"), "$.prompts[0].responses[*].refProb: must sum to 1" },
        { "unnormalized-weights", Good.Replace("\"weight\": 0.50", "\"weight\": 0.6"), "$.prompts[*].weight: prompt weights must sum to 1" },
        { "zero-weight", Good.Replace("\"weight\": 0.50", "\"weight\": 0"), "$.prompts[1].weight: must be > 0 (got 0)" },
        { "features-length", Good.Replace("[0.3, 0.2, 0.1]", "[0.3, 0.2]"), "$.prompts[1].responses[0].features: has 2 numbers, but featureDim is 3" },
        { "theta-length", Good.Replace("[1.0, 0.0, -0.5]", "[1.0, 0.0, -0.5, 2]"), "$.theta: has 4 numbers, but featureDim is 3" },
        { "featuredim-zero", Good.Replace("\"featureDim\": 3", "\"featureDim\": 0"), "$.featureDim: must be in [1, 1000000] (got 0)" },
        { "featuredim-fraction", Good.Replace("\"featureDim\": 3", "\"featureDim\": 2.5"), "$.featureDim: must be an integer (got 2.5)" },
        { "beta-zero", Good.Replace("\"beta\": 0.1", "\"beta\": 0"), "$.beta: must be in [0.0001, 1000] (got 0)" },
        { "beta-negative", Good.Replace("\"beta\": 0.1", "\"beta\": -1"), "$.beta: must be in [0.0001, 1000] (got -1)" },
        { "beta-huge", Good.Replace("\"beta\": 0.1", "\"beta\": 1e300"), "$.beta: must be in [0.0001, 1000] (got 1E+300)" },
        { "beta-tiny", Good.Replace("\"beta\": 0.1", "\"beta\": 1e-300"), "$.beta: must be in [0.0001, 1000] (got 1E-300)" },
        { "theta-huge", Good.Replace("[1.0, 0.0, -0.5]", "[1.0, 0.0, 1e150]"), "$.theta[2]: must be finite with |value| ≤ 1000000000000 (got 1E+150)" },
        { "features-huge", Good.Replace("[0.3, 0.2, 0.1]", "[0.3, 1e300, 0.1]"), "$.prompts[1].responses[0].features[1]: must be finite with |value| ≤ 1000000000000 (got 1E+300)" },
        { "beta-overflow", Good.Replace("\"beta\": 0.1", "\"beta\": 2e308"), "$.beta: number out of range of a double (got 2e308)" },
        { "format-v9", Good.Replace("instance/v1", "instance/v9"), "$.format: unsupported format 'lmexplore.instance/v9' (supported: lmexplore.instance/v1, lmexplore.autoregressive/v1)" },
        { "format-type", Good.Replace("\"lmexplore.instance/v1\"", "1"), "$.format: must be a string (got a number)" },
        { "noise-kind", Good.Replace("\"gaussian\", \"sigma\": 0.1", "\"laplace\""), "$.noise.kind: unknown noise kind 'laplace' (known: none, gaussian, bernoulli)" },
        { "sigma-negative", Good.Replace("\"sigma\": 0.1", "\"sigma\": -0.1"), "$.noise.sigma: must be ≥ 0 (got -0.1)" },
        { "sigma-missing", Good.Replace(", \"sigma\": 0.1", ""), "$.noise.sigma: missing" },
        { "bernoulli-range", Good.Replace("\"gaussian\", \"sigma\": 0.1", "\"bernoulli\""), "noise kind 'bernoulli' needs rewards in [0,1]" },
        { "no-responses", Good.Replace("\"responses\": [ { \"refProb\": 1.0, \"features\": [0.3, 0.2, 0.1] } ]", "\"responses\": []"), "$.prompts[1].responses: must contain at least one response" },
        { "no-prompts", Good[..Good.IndexOf("\"prompts\"")] + "\"prompts\": [] }", "$.prompts: must contain at least one prompt" },
        { "duplicate-top", Good.Replace("\"beta\": 0.1,", "\"beta\": 0.1, \"beta\": 0.2,"), "$.beta: duplicate key" },
        { "duplicate-response", Good.Replace("\"refProb\": 0.3,", "\"refProb\": 0.3, \"refProb\": 0.3,"), "$.prompts[0].responses[1].refProb: duplicate key" },
        { "unknown-key", Good.Replace("\"refProb\": 0.3,", "\"refprob\": 0.3,"), "$.prompts[0].responses[1].refprob: unknown field (did you mean 'refProb'?" },
        { "typo-noise", Good.Replace("\"noise\":", "\"nosie\":"), "$.nosie: unknown field (did you mean 'noise'?" },
        { "typo-weights", Good.Replace("\"weight\": 0.50", "\"weights\": 0.50"), "$.prompts[1].weights: unknown field (did you mean 'weight'?" },
        { "response-not-object", Good.Replace("{ \"refProb\": 1.0, \"features\": [0.3, 0.2, 0.1] }", "[1]"), "$.prompts[1].responses[0]: must be an object (got an array)" },
        { "null-number", Good.Replace("\"refProb\": 0.3", "\"refProb\": null"), "$.prompts[0].responses[1].refProb: must be a number (got null)" },
        { "trailing-comma", Good.Replace("[1.0, 0.0, -0.5]", "[1.0, 0.0, -0.5,]"), "$.theta" },
        { "reward-overflow", Good.Replace("[1.0, 0.0, -0.5]", "[1e11, 0.0, -0.5]").Replace("\"beta\": 0.1", "\"beta\": 1e-3"), "exceeds 100000000 (beta = 0.001)" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void BadFileGivesOneLineInputErrorWithPath(string name, string content, string expected)
    {
        string path = WriteFile(name + ".json", content);
        var ex = Assert.Throws<InputException>(() => InstanceCatalog.Create(path, new Dictionary<string, string>(), 0));
        Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), ex.Message);
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
    }

    [Fact]
    public void UnrelatedExtraKeysAreIgnored()
    {
        string text = Good.Replace("\"beta\": 0.1,", "\"beta\": 0.1, \"comment\": \"made by hand\", \"description\": { \"x\": [1, 2] },")
                          .Replace("\"refProb\": 0.3,", "\"refProb\": 0.3, \"id\": 17,");
        var inst = InstanceCatalog.Load(WriteFile("extra.json", text)).Enumerable!;
        FamilyTests.AssertIdentical(InstanceCatalog.Load(WriteFile("plain.json", Good)).Enumerable!, inst);
    }

    [Fact]
    public void MissingFileAndDirectoryAreInputErrors()
    {
        string missing = Path.Combine(_temp.Path, "nope.json");
        Assert.Contains("file not found", Assert.Throws<InputException>(() => InstanceCatalog.Load(missing)).Message);
        Assert.Contains("file not found", Assert.Throws<InputException>(() => InstanceCatalog.Load(Path.Combine(_temp.Path, "no", "x.json"))).Message);
        Assert.Contains("is a directory", Assert.Throws<InputException>(() => InstanceCatalog.Load(_temp.Path)).Message);
        Assert.Contains("neither an instance family", Assert.Throws<InputException>(() => InstanceCatalog.Create("needl", new Dictionary<string, string>(), 0)).Message);
    }

    [Fact]
    public void ParametersWithAFileAreRejected()
    {
        string path = WriteFile("p.json", Good);
        var ex = Assert.Throws<InputException>(() => InstanceCatalog.Create(path, new Dictionary<string, string> { ["d"] = "3" }, 0));
        Assert.Contains("only apply to instance families", ex.Message);
    }

    [Fact]
    public void NormalizeRescalesWeightsAndProbabilities()
    {
        string text = Good.Replace("\"refProb\": 0.7", "\"refProb\": 7").Replace("\"refProb\": 0.3", "\"refProb\": 3")
                          .Replace("\"weight\": 0.50", "\"weight\": 2").Replace("\"weight\": 0.5", "\"weight\": 2");
        string path = WriteFile("unnorm.json", text);
        Assert.Throws<InputException>(() => InstanceCatalog.Load(path));
        var inst = InstanceCatalog.Load(path, normalize: true).Enumerable!;
        Assert.Equal(0.5, inst.Prompts[0].Weight, 15);
        Assert.Equal(Math.Log(0.7), inst.Prompts[0].LogRefProbs[0], 14);
        Assert.Equal(Math.Log(0.3), inst.Prompts[0].LogRefProbs[1], 14);
    }

    [Theory]
    [InlineData("needle", "ccov=1000", "responses=300", "beta=0.1")]
    [InlineData("needle", "q=1e-320", "R=1", "beta=1e-4")]   // q below double's normal range: written as logRefProb
    [InlineData("linear", "responses=100", "d=5", "beta=0.01")]
    public void ExportImportRoundTripIsExact(string family, string a, string b, string c)
    {
        var p = new[] { a, b, c, "prompts=3" }.Select(s => s.Split('=')).ToDictionary(s => s[0], s => s[1]);
        if (family == "needle") p["responses"] = p.GetValueOrDefault("responses", "50");
        var original = InstanceCatalog.Create(family, p, 42);
        string path = Path.Combine(_temp.Path, "export.json");
        InstanceJson.Write(original, path);
        var back = InstanceCatalog.Create(path, new Dictionary<string, string>(), 0);
        FamilyTests.AssertIdentical(original, back);
        Assert.Equal(original.Name, back.Name);
        Assert.Equal(ExactEvaluator.OptimalValue(original), ExactEvaluator.OptimalValue(back));
        Assert.Equal(ExactEvaluator.LogCoverageOfOptimal(original), ExactEvaluator.LogCoverageOfOptimal(back));
        Assert.Empty(Directory.GetFiles(_temp.Path, "*.tmp"));
        Assert.Empty(Directory.GetFiles(_temp.Path, ".*"));
    }

    [Fact]
    public void TextsSurviveRoundTrip()
    {
        var inst = InstanceCatalog.Load(WriteFile("t.json", Good.Replace("\"optional\"", "\"quote \\\" and ünïcode\\n\""))).Enumerable!;
        string path = Path.Combine(_temp.Path, "t2.json");
        InstanceJson.Write(inst, path);
        var back = InstanceCatalog.Load(path).Enumerable!;
        Assert.Equal("quote \" and ünïcode\n", back.Prompts[0].Texts![0]);
        FamilyTests.AssertIdentical(inst, back);
    }

    [Fact]
    public void WriteFailsCleanlyIntoMissingDirectory()
    {
        var inst = InstanceCatalog.Load(WriteFile("g.json", Good)).Enumerable!;
        var ex = Assert.Throws<InputException>(() => InstanceJson.Write(inst, Path.Combine(_temp.Path, "missing", "x.json")));
        Assert.Contains("cannot write", ex.Message);
    }

    [Fact]
    public void LargeFileLoadsCorrectlyAndWithoutBlowUp()
    {
        // 8 prompts × 20 000 responses. Speed itself is measured in Release outside the tests (see the
        // Instances report: ≈ 0.5 s CPU at d = 4); here only a gross-regression guard on CPU time, which,
        // unlike wall time, does not depend on how loaded the machine is.
        var inst = InstanceCatalog.Create("linear", new Dictionary<string, string> { ["prompts"] = "8", ["responses"] = "20000", ["d"] = "2" }, 1);
        string path = Path.Combine(_temp.Path, "big.json");
        InstanceJson.Write(inst, path);
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var back = InstanceCatalog.Load(path).Enumerable!;
        process.Refresh();
        double cpuSeconds = (process.TotalProcessorTime - cpu0).TotalSeconds;
        Assert.Equal(160_000, back.TotalResponses);
        FamilyTests.AssertIdentical(inst, back);
        Assert.True(cpuSeconds < 10.0, $"loading used {cpuSeconds:F2} s of CPU");
    }
}
