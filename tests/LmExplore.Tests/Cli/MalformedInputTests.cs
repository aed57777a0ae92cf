namespace LmExplore.Tests.Cli;

/// <summary>
/// Every malformed input gets exit code 2 and exactly one line on stderr — from <c>instance inspect</c>
/// and from <c>run</c> (real instance reader and runner). Files are generated in a temp directory.
/// </summary>
public class MalformedInputTests
{
    private const string Valid = """
        { "format": "lmexplore.instance/v1",
          "beta": 0.1, "featureDim": 2, "theta": [1.0, -0.5],
          "noise": { "kind": "gaussian", "sigma": 0.1 },
          "prompts": [
            { "weight": 0.25, "responses": [ { "refProb": 0.6, "features": [0.5, 0.1] }, { "refProb": 0.4, "features": [0.0, 0.3], "text": "b" } ] },
            { "weight": 0.75, "responses": [ { "refProb": 0.1, "features": [0.2, 0.2] }, { "refProb": 0.9, "features": [-0.3, 0.0] } ] } ] }
        """;

    private const string ValidAutoregressive = """
        { "format": "lmexplore.autoregressive/v1",
          "beta": 0.1, "horizon": 8, "vocab": 2, "states": 3, "featureDim": 2,
          "theta": [1.0, 0.0], "noise": { "kind": "none" },
          "prompts": [ { "weight": 1.0, "initialState": 0 } ],
          "transition": [[1, 2], [0, 2], [2, 2]],
          "refProbs":   [[0.5, 0.5], [0.9, 0.1], [0.5, 0.5]],
          "tokenFeatures": [[[1, 0], [0, 1]], [[1, 0], [0, 1]], [[0, 0], [0, 0]]] }
        """;

    /// <summary>(name, file content): each breaks exactly one rule of docs/FORMATS.md.</summary>
    public static TheoryData<string, string> Cases()
    {
        string Replace(string from, string to)
        {
            Assert.Contains(from, Valid);
            return Valid.Replace(from, to);
        }
        string ReplaceAr(string from, string to)
        {
            Assert.Contains(from, ValidAutoregressive);
            return ValidAutoregressive.Replace(from, to);
        }
        return new TheoryData<string, string>
        {
            { "empty file", "" },
            { "whitespace only", "  \n\t " },
            { "not json", "this is not an instance" },
            { "binary garbage", "\u0000\u0001\u00ff\u0002" },
            { "truncated json", Valid[..(Valid.Length / 2)] },
            { "truncated just before the end", Valid.TrimEnd()[..^1] },
            { "top-level array", "[" + Valid + "]" },
            { "NaN literal", Replace("\"beta\": 0.1", "\"beta\": NaN") },
            { "NaN as a string", Replace("\"features\": [0.5, 0.1]", "\"features\": [\"NaN\", 0.1]") },
            { "Infinity literal", Replace("\"theta\": [1.0, -0.5]", "\"theta\": [Infinity, -0.5]") },
            { "overflow 1e400", Replace("\"features\": [0.5, 0.1]", "\"features\": [1e400, 0.1]") },
            { "overflow in beta", Replace("\"beta\": 0.1", "\"beta\": 1e400") },
            { "negative probability", Replace("\"refProb\": 0.6", "\"refProb\": -0.6").Replace("\"refProb\": 0.4", "\"refProb\": 1.6") },
            { "zero probability", Replace("\"refProb\": 0.1", "\"refProb\": 0.0").Replace("\"refProb\": 0.9", "\"refProb\": 1.0") },
            { "unnormalized probabilities", Replace("\"refProb\": 0.6", "\"refProb\": 0.7") },
            { "unnormalized weights", Replace("\"weight\": 0.75", "\"weight\": 0.5") },
            { "negative weight", Replace("\"weight\": 0.25", "\"weight\": -0.25").Replace("\"weight\": 0.75", "\"weight\": 1.25") },
            { "feature dimension mismatch", Replace("\"features\": [0.5, 0.1]", "\"features\": [0.5, 0.1, 0.0]") },
            { "theta dimension mismatch", Replace("\"theta\": [1.0, -0.5]", "\"theta\": [1.0]") },
            { "featureDim mismatch", Replace("\"featureDim\": 2", "\"featureDim\": 3") },
            { "beta zero", Replace("\"beta\": 0.1", "\"beta\": 0") },
            { "beta negative", Replace("\"beta\": 0.1", "\"beta\": -0.1") },
            { "unknown format version", Replace("lmexplore.instance/v1", "lmexplore.instance/v2") },
            { "unknown format", Replace("lmexplore.instance/v1", "something-else") },
            { "missing format", Replace("\"format\": \"lmexplore.instance/v1\",", "") },
            { "missing beta", Replace("\"beta\": 0.1,", "") },
            { "missing theta", Replace("\"theta\": [1.0, -0.5],", "") },
            { "missing prompts", Replace(Valid[Valid.IndexOf("\"prompts\"")..^1], "\"x\": 1") },
            { "missing refProb", Replace("{ \"refProb\": 0.6, \"features\": [0.5, 0.1] }", "{ \"features\": [0.5, 0.1] }") },
            { "missing features", Replace("{ \"refProb\": 0.6, \"features\": [0.5, 0.1] }", "{ \"refProb\": 0.6 }") },
            { "number as string (beta)", Replace("\"beta\": 0.1", "\"beta\": \"0.1\"") },
            { "number as string (refProb)", Replace("\"refProb\": 0.6", "\"refProb\": \"0.6\"") },
            { "number as string (featureDim)", Replace("\"featureDim\": 2", "\"featureDim\": \"2\"") },
            { "fractional featureDim", Replace("\"featureDim\": 2", "\"featureDim\": 2.5") },
            { "null feature", Replace("\"features\": [0.5, 0.1]", "\"features\": [null, 0.1]") },
            { "no prompts", Replace(Valid[Valid.IndexOf("\"prompts\"")..^1], "\"prompts\": []") },
            { "no responses", Replace("\"responses\": [ { \"refProb\": 0.1, \"features\": [0.2, 0.2] }, { \"refProb\": 0.9, \"features\": [-0.3, 0.0] } ]", "\"responses\": []") },
            { "unknown noise kind", Replace("\"kind\": \"gaussian\"", "\"kind\": \"cauchy\"") },
            { "negative noise sigma", Replace("\"sigma\": 0.1", "\"sigma\": -0.1") },
            { "autoregressive: unknown version", ReplaceAr("lmexplore.autoregressive/v1", "lmexplore.autoregressive/v7") },
            { "autoregressive: refProbs row unnormalized", ReplaceAr("[0.9, 0.1]", "[0.9, 0.2]") },
            { "autoregressive: zero refProb", ReplaceAr("[0.9, 0.1]", "[1.0, 0.0]") },
            { "autoregressive: transition out of range", ReplaceAr("[[1, 2], [0, 2], [2, 2]]", "[[1, 3], [0, 2], [2, 2]]") },
            { "autoregressive: wrong number of rows", ReplaceAr("[[1, 2], [0, 2], [2, 2]]", "[[1, 2], [0, 2]]") },
            { "autoregressive: token feature dimension", ReplaceAr("[[[1, 0], [0, 1]], [[1, 0]", "[[[1, 0, 0], [0, 1]], [[1, 0]") },
            { "autoregressive: beta zero", ReplaceAr("\"beta\": 0.1", "\"beta\": 0") },
            { "autoregressive: horizon zero", ReplaceAr("\"horizon\": 8", "\"horizon\": 0") },
            { "autoregressive: NaN", ReplaceAr("\"theta\": [1.0, 0.0]", "\"theta\": [NaN, 0.0]") },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void InspectAndRun_RejectWithOneLine(string name, string content)
    {
        using var dir = CliHarness.TempDir();
        var path = dir.Write("bad.json", content);
        CliHarness.Invoke("instance", "inspect", path).AssertBadInput($"inspect: {name}");
        CliHarness.Invoke("instance", "inspect", path, "--json").AssertBadInput($"inspect --json: {name}");
        CliHarness.Invoke("run", "--instance", path, "--algo", "passive", "--seed", "1", "--json").AssertBadInput($"run: {name}");
    }

    [Fact]
    public void ValidFiles_AreAccepted_SoRejectionsComeFromTheDefects()
    {
        using var dir = CliHarness.TempDir();
        var path = dir.Write("good.json", Valid);
        var inspect = CliHarness.Invoke("instance", "inspect", path, "--json").SingleJsonObject();
        Assert.Equal(2, inspect.GetProperty("d").GetInt32());
        Assert.Equal(4, inspect.GetProperty("responses").GetInt64());
        var run = CliHarness.Invoke("run", "--instance", path, "--algo", "passive", "--seed", "1", "--json");
        Assert.True(run.ExitCode == 0, run.Stderr);

        var ar = dir.Write("ar.json", ValidAutoregressive);
        var arInspect = CliHarness.Invoke("instance", "inspect", ar, "--json").SingleJsonObject();
        Assert.Equal(8, arInspect.GetProperty("horizon").GetInt32());
        Assert.Equal(2, arInspect.GetProperty("vocab").GetInt32());
        Assert.Equal(3, arInspect.GetProperty("states").GetInt32());
        Assert.True(arInspect.GetProperty("C_cond").GetDouble() >= 1);
        // A sequence-level algorithm runs on its sequence-level view (H tokens per sample); mtss at the token level.
        var seq = CliHarness.Invoke("run", "--instance", ar, "--algo", "passive", "--seed", "1", "--json");
        Assert.True(seq.ExitCode == 0, seq.Stderr);
        var seqResult = seq.SingleJsonObject();
        Assert.Equal(8 * seqResult.GetProperty("T_comp").GetInt64(), seqResult.GetProperty("T_tokens").GetInt64());
        var tok = CliHarness.Invoke("run", "--instance", ar, "--algo", "mtss", "--seed", "1", "--json", "--budget-tokens", "20000");
        Assert.True(tok.ExitCode == 0, tok.Stderr);
        Assert.Equal("exact", tok.SingleJsonObject().GetProperty("evaluation").GetString());
    }

    [Fact]
    public void Normalize_AcceptsUnnormalizedFile()
    {
        using var dir = CliHarness.TempDir();
        var path = dir.Write("unnormalized.json", Valid.Replace("\"refProb\": 0.6", "\"refProb\": 0.7").Replace("\"weight\": 0.75", "\"weight\": 0.5"));
        CliHarness.Invoke("instance", "inspect", path).AssertBadInput("without --normalize");
        var ok = CliHarness.Invoke("instance", "inspect", path, "--json", "--normalize");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        var run = CliHarness.Invoke("run", "--instance", path, "--algo", "passive", "--seed", "1", "--json", "--normalize");
        Assert.True(run.ExitCode == 0, run.Stderr);
    }

    [Theory]
    [InlineData("missing file", new[] { "instance", "inspect", "{dir}/nope.json" })]
    [InlineData("directory", new[] { "instance", "inspect", "{dir}" })]
    [InlineData("run: missing file", new[] { "run", "--instance", "{dir}/nope.json", "--algo", "passive", "--seed", "1" })]
    [InlineData("unknown family", new[] { "instance", "inspect", "nosuchfamily" })]
    [InlineData("run: unknown family", new[] { "run", "--instance", "nosuchfamily", "--algo", "passive", "--seed", "1" })]
    [InlineData("unknown family parameter", new[] { "instance", "inspect", "needle", "--param", "colour=red" })]
    [InlineData("family parameter not a number", new[] { "instance", "inspect", "needle", "--param", "prompts=many" })]
    [InlineData("family beta zero", new[] { "instance", "inspect", "linear", "--param", "beta=0" })]
    [InlineData("family beta negative", new[] { "run", "--instance", "needle", "--param", "beta=-1", "--algo", "passive", "--seed", "1" })]
    [InlineData("family beta NaN", new[] { "run", "--instance", "linear", "--param", "beta=NaN", "--algo", "passive", "--seed", "1" })]
    [InlineData("family overflow", new[] { "instance", "inspect", "needle", "--param", "R=1e400" })]
    [InlineData("parameters on a file", new[] { "instance", "inspect", "{dir}/good.json", "--param", "d=3" })]
    [InlineData("unknown algorithm", new[] { "run", "--instance", "needle", "--algo", "nosuchalgo", "--seed", "1" })]
    [InlineData("bad algorithm parameter", new[] { "run", "--instance", "needle", "--algo", "passive", "--algo-param", "epsilon=-1", "--seed", "1" })]
    [InlineData("unknown algorithm parameter", new[] { "run", "--instance", "needle", "--algo", "passive", "--algo-param", "flavour=1", "--seed", "1" })]
    public void OtherBadInput_OneLineExitTwo(string because, string[] args)
    {
        using var dir = CliHarness.TempDir();
        dir.Write("good.json", Valid);
        var resolved = args.Select(a => a.Replace("{dir}", dir.Path, StringComparison.Ordinal)).ToArray();
        CliHarness.Invoke(resolved).AssertBadInput(because);
    }
}
