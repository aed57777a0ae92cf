using System.Text.Json;
using LmExplore.LanguageModels;
using LmExplore.Numerics;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.LanguageModels.Models;

/// <summary>
/// A test-only model kind shaped like a served model: it offers the sampler (and, as <c>sampler-only+score:</c>, the
/// score) of any model the catalog opens, and nothing else — no next-token distributions, no embeddings. It is the
/// whole of what adding a model kind takes: this file, registered through <see cref="ModelCatalog.Register"/>.
/// Specs: <c>sampler-only:SPEC</c> (score-less) and <c>sampler-only+score:SPEC</c>, SPEC being any model spec.
/// </summary>
internal sealed class SamplerOnlyModel(ILanguageModel inner, bool canScore) : ILanguageModel
{
    public const string Name = "sampler-only";
    private const string ScoringPrefix = Name + "+score:";
    private const string Prefix = Name + ":";

    private static readonly ModelKind Declaration = new(Name, "sampler-only[+score]:SPEC (tests only)",
        spec => spec.StartsWith(Prefix, StringComparison.Ordinal) || spec.StartsWith(ScoringPrefix, StringComparison.Ordinal),
        spec => spec.StartsWith(ScoringPrefix, StringComparison.Ordinal)
            ? new SamplerOnlyModel(ModelCatalog.Open(spec[ScoringPrefix.Length..]), canScore: true)
            : new SamplerOnlyModel(ModelCatalog.Open(spec[Prefix.Length..]), canScore: false));

    /// <summary>Registers the kind; tests call it first (idempotent, safe from tests running in parallel).</summary>
    public static void EnsureRegistered() => ModelCatalog.Register(Declaration);

    public string Kind => Name;
    public int[] Encode(string text) => inner.Encode(text);
    public string Decode(ReadOnlySpan<int> tokens) => inner.Decode(tokens);
    public void Sample(ReadOnlySpan<int> prompt, int maxTokens, Rng rng, Span<SampledSequence> destination) =>
        inner.Sample(prompt, maxTokens, rng, destination);
    public bool CanScore => canScore;
    public double Score(ReadOnlySpan<int> prompt, ReadOnlySpan<int> response, EndReason end) => canScore
        ? inner.Score(prompt, response, end)
        : throw new InputException($"model kind '{Name}' cannot score a response (it offers sampling only)");
    public INextTokenModel? NextTokens => null;
    public ITextEmbedder? Embedder => null;
    public void Dispose() => inner.Dispose();
}

/// <summary>The sampler-only kind through the library and the CLI: a model offering only the sampler runs everything a run needs.</summary>
public class SamplerOnlyModelTests : IClassFixture<SamplerOnlyModelTests.LettersModelFile>
{
    /// <summary>The letters task's built-in model, saved by <c>lm train --corpus letters</c>.</summary>
    public sealed class LettersModelFile : IDisposable
    {
        private readonly TempDirectory _dir = new("sampler-only");
        public LettersModelFile()
        {
            Path = System.IO.Path.Combine(_dir.Path, "letters.json");
            var trained = CliHarness.Invoke("lm", "train", "--corpus", "letters", "--order", "3", "--out", Path);
            Assert.True(trained.ExitCode == 0, trained.Stderr);
        }
        public string Path { get; }
        public void Dispose() => _dir.Dispose();
    }

    private readonly string _path;

    public SamplerOnlyModelTests(LettersModelFile file)
    {
        _path = file.Path;
        SamplerOnlyModel.EnsureRegistered();
    }

    [Fact]
    public void Draws_EqualTheWrappedModels_AndOnlyTheSamplerIsOffered()
    {
        using var wrapped = ModelCatalog.Open(_path);
        using var model = ModelCatalog.Open("sampler-only:" + _path);
        Assert.Equal("sampler-only", model.Kind);
        Assert.Null(model.NextTokens);
        Assert.Null(model.Embedder);
        Assert.False(model.CanScore);
        var prompt = model.Encode("ad>");
        var expected = new SampledSequence[50];
        var actual = new SampledSequence[50];
        wrapped.Sample(prompt, 8, new Rng(11), expected);
        model.Sample(prompt, 8, new Rng(11), actual);
        Assert.Equal(expected, actual, (a, b) => a.Tokens.SequenceEqual(b.Tokens) && a.Text == b.Text && a.End == b.End && a.LogProb == b.LogProb);
        var e = Assert.Throws<InputException>(() => model.Score(prompt, actual[0].Tokens, actual[0].End));
        Assert.Contains("cannot score", e.Message);

        using var scoring = ModelCatalog.Open("sampler-only+score:" + _path);
        Assert.True(scoring.CanScore);
        Assert.Equal(actual[0].LogProb, scoring.Score(prompt, actual[0].Tokens, actual[0].End), 12);
    }

    [Fact]
    public void RegisteringAgain_FromParallelCallers_KeepsOneKind()
    {
        Parallel.For(0, 32, _ => SamplerOnlyModel.EnsureRegistered());
        Assert.Single(ModelCatalog.Kinds, k => k.Name == SamplerOnlyModel.Name);
    }

    [Fact]
    public void LmSample_PrintsTheWrappedModelsLines()
    {
        string[] rest = ["--prompt", "bf>", "--n", "70", "--max-tokens", "6", "--seed", "5"];
        var direct = CliHarness.Invoke(["lm", "sample", "--model", _path, .. rest]);
        var wrapped = CliHarness.Invoke(["lm", "sample", "--model", "sampler-only:" + _path, .. rest]);
        Assert.True(direct.ExitCode == 0, direct.Stderr);
        Assert.True(wrapped.ExitCode == 0, wrapped.Stderr);
        Assert.Equal(70, direct.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(direct.Stdout, wrapped.Stdout);
    }

    [Fact]
    public void Run_SpannerOnLetters_CompletesAsWithTheWrappedModel()
    {
        string[] rest = ["--algo", "spanner", "--seed", "1", "--budget-comp", "1000", "--param", "eval-samples=20", "--json"];
        var wrapped = CliHarness.Invoke(["run", "--task", "letters", "--model", "sampler-only:" + _path, .. rest]);
        Assert.True(wrapped.ExitCode == 0, wrapped.Stderr);
        var direct = CliHarness.Invoke(["run", "--task", "letters", "--model", _path, .. rest]).SingleJsonObject();
        // Same draws, so the same run; only what needs next-token distributions (the exact π_ref pass rate) is missing.
        Assert.Equal(Comparable(direct), Comparable(wrapped.SingleJsonObject()));
        Assert.False(wrapped.SingleJsonObject().GetProperty("diagnostics").TryGetProperty("ref_pass_rate_exact", out _));
    }

    [Fact]
    public void EmbeddingFeatures_NeedTheEmbeddingCapability()
    {
        var outcome = CliHarness.Invoke("run", "--task", "letters", "--model", "sampler-only:" + _path, "--algo", "spanner", "--seed", "1",
            "--budget-comp", "1000", "--param", "features=embeddings", "--json");
        outcome.AssertBadInput("features=embeddings on a sampler-only model");
        Assert.Contains("embeddings", outcome.ErrorLines[0]);
        Assert.Contains("'sampler-only'", outcome.ErrorLines[0]);
    }

    [Fact]
    public void Mtss_RefusesASamplerOnlyModel_NamingTheMissingCapability()
    {
        var outcome = CliHarness.Invoke("run", "--task", "letters", "--model", "sampler-only:" + _path, "--algo", "mtss", "--seed", "1",
            "--budget-tokens", "1000", "--json");
        outcome.AssertBadInput("mtss on a sampler-only model");
        Assert.Contains("next-token distributions", outcome.ErrorLines[0]);
        Assert.Contains("'sampler-only'", outcome.ErrorLines[0]);
    }

    [Fact]
    public void OutputSamples_OfATextRun_AreDrawnThroughTheSamplerOnlyModel()
    {
        using var dir = new TempDirectory("sampler-only-draws");
        string draws = System.IO.Path.Combine(dir.Path, "draws.jsonl");
        var outcome = CliHarness.Invoke("run", "--task", "letters", "--model", "sampler-only:" + _path, "--algo", "spanner", "--seed", "3",
            "--budget-comp", "4000", "--output-samples", "50", "--output-samples-file", draws, "--json");
        Assert.Equal("monte_carlo", outcome.SingleJsonObject().GetProperty("evaluation").GetString());
        var lines = File.ReadAllLines(draws);
        Assert.Equal(50, lines.Length);
        foreach (var line in lines)
        {
            using var doc = JsonDocument.Parse(line);
            Assert.InRange(doc.RootElement.GetProperty("prompt").GetInt32(), 0, 1000);
            Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("response").ValueKind);
        }
    }

    /// <summary>The result without wall_seconds and without the exact π_ref pass rate.</summary>
    private static string Comparable(JsonElement result) => JsonSerializer.Serialize(result.EnumerateObject()
        .Where(p => p.Name != "wall_seconds")
        .ToDictionary(p => p.Name, p => p.Name == "diagnostics"
            ? JsonSerializer.SerializeToElement(p.Value.EnumerateObject().Where(q => q.Name != "ref_pass_rate_exact").ToDictionary(q => q.Name, q => q.Value))
            : p.Value));
}
