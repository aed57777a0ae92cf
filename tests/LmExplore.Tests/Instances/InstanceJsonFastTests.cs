using System.Text;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Instances;

/// <summary>The streaming JSON reader takes every file <see cref="InstanceJson.Write"/> produces and reads it exactly as
/// the strict document reader does; anything unusual goes to the strict reader (same result, same messages).</summary>
public class InstanceJsonFastTests
{
    private static EnumerableInstance? Fast(string json, bool normalize = false)
    {
        var input = JsonInput.Named("test.json");
        return InstanceJsonFast.TryRead(input, Encoding.UTF8.GetBytes(json), normalize, "fallback");
    }

    private static EnumerableInstance Strict(string json, bool normalize = false)
    {
        var (input, _) = JsonInput.ReadFile(typeof(InstanceJsonFastTests).Assembly.Location);
        using var doc = input.Parse(Encoding.UTF8.GetBytes(json));
        return InstanceJson.Read(input, doc.RootElement, normalize, "fallback");
    }

    private static void AssertSame(EnumerableInstance a, EnumerableInstance b)
    {
        Assert.Equal(a.Name, b.Name);
        Assert.Equal(a.Beta, b.Beta);
        Assert.Equal(a.Theta, b.Theta);
        Assert.Equal(a.Noise, b.Noise);
        Assert.Equal(a.Prompts.Count, b.Prompts.Count);
        for (int x = 0; x < a.Prompts.Count; x++)
        {
            Assert.Equal(a.Prompts[x].Weight, b.Prompts[x].Weight);
            Assert.Equal(a.Prompts[x].LogRefProbs, b.Prompts[x].LogRefProbs);
            Assert.Equal(a.Prompts[x].FeatureMatrix.ToArray(), b.Prompts[x].FeatureMatrix.ToArray());
            Assert.Equal(a.Prompts[x].Texts, b.Prompts[x].Texts);
        }
        Assert.Equal(ExactEvaluator.Summarize(a), ExactEvaluator.Summarize(b));
    }

    [Theory]
    [InlineData("needle", "ccov=1e6", "beta=1e-3")]         // logRefProb entries (q below exp's round trip)
    [InlineData("linear", "responses=700", "noise=none")]    // > 64 responses: the arrays grow
    [InlineData("linear", "prompts=3", "noise=bernoulli")]
    public void WrittenFilesTakeTheFastPathAndReadAsTheStrictReaderDoes(string family, string p1, string p2)
    {
        var parameters = new[] { p1, p2 }.Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
        if (family == "linear" && parameters.ContainsKey("noise") && parameters["noise"] == "bernoulli") parameters["B"] = "0";
        var inst = InstanceCatalog.Create(family, parameters, 3);
        var w = new StringWriter();
        InstanceJson.WriteTo(inst, w);
        string json = w.ToString();
        var fast = Fast(json);
        Assert.NotNull(fast);   // a canonical file must not silently fall back to the slow reader
        AssertSame(Strict(json), fast!);
        AssertSame(inst, fast!);
    }

    [Fact]
    public void FileReaderCopesWithChunkBoundariesAndMisleadingPreScanCounts()
    {
        // Texts that look like keys throw the pre-scan's counts off; > 1 MB of JSON crosses chunk boundaries.
        using var dir = CliHarness.TempDir();
        var inst = InstanceCatalog.Create("linear", new Dictionary<string, string> { ["prompts"] = "3", ["responses"] = "3000", ["d"] = "8" }, 5);
        var withTexts = new EnumerableInstance(inst.Name, inst.Beta, inst.Theta, inst.Noise, inst.Prompts.Select((p, x) =>
            new EnumerablePrompt(p.Weight, p.LogRefProbs, p.FeatureMatrix.ToArray(), p.Dimension, inst.Theta,
                Enumerable.Range(0, p.ResponseCount).Select(y => y % 7 == 0 ? (x == 1 ? "\"features\"" : "\"responses\"") : null).ToArray())).ToList());
        string file = dir.File("texts.json");
        InstanceJson.Write(withTexts, file);
        Assert.True(new FileInfo(file).Length > 1 << 20, "the file must span more than one chunk");
        var fast = InstanceJsonFast.TryReadFile(JsonInput.Named(file), file, false, "x");
        Assert.NotNull(fast);
        AssertSame(withTexts, fast!);
    }

    [Fact]
    public void TextsNullsAndEscapesMatch()
    {
        const string json = """
            { "format": "lmexplore.instance/v1", "beta": 0.5, "featureDim": 1, "theta": [2],
              "prompts": [ { "weight": 1, "responses": [ { "refProb": 0.5, "features": [1], "text": "caf\u00e9 \"q\"" },
                                                        { "logRefProb": -0.6931471805599453, "features": [-1], "text": null } ] } ] }
            """;
        AssertSame(Strict(json), Fast(json)!);
        Assert.Equal("café \"q\"", Fast(json)!.Prompts[0].Texts![0]);
    }

    [Theory]
    [InlineData("\"comment\": \"hi\", ")]                 // annotation key: the strict reader tolerates it
    [InlineData("\"prompts\": [], ")]                     // duplicate key (before the real one)
    public void UnusualFilesFallBackToTheStrictReader(string extra)
    {
        string json = """{ "format": "lmexplore.instance/v1", "beta": 0.5, "featureDim": 1, "theta": [2], EXTRA"prompts": [ { "weight": 1, "responses": [ { "refProb": 1, "features": [1] } ] } ] }""".Replace("EXTRA", extra);
        Assert.Null(Fast(json));
    }

    [Fact]
    public void FallbackGivesTheStrictReadersMessage()
    {
        using var dir = CliHarness.TempDir();
        var file = dir.Write("bad.json", """{ "format": "lmexplore.instance/v1", "beta": 0.5, "featureDim": 1, "theta": [2], "prompts": [ { "weight": 1, "responses": [ { "refProb": 1, "features": [1e300] } ] } ] }""");
        var outcome = CliHarness.Invoke("instance", "inspect", file);
        outcome.AssertBadInput("huge feature");
        Assert.Contains("$.prompts[0].responses[0].features[0]: must be finite with |value| ≤", outcome.Stderr);
    }
}
