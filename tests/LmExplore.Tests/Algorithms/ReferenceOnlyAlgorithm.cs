using System.Text.Json;
using LmExplore.Algorithms;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using LmExplore.Policies;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Algorithms;

/// <summary>
/// A test-only algorithm, added in this one file: it spends no reward query and outputs π_ref itself (one sample per
/// draw). Registering it is all the pipeline needs; the CLI then runs it like any built-in algorithm, on every problem
/// that has a sequence level, and evaluates its output exactly where the problem allows.
/// </summary>
internal sealed class ReferenceOnlyAlgorithm(IReadOnlyDictionary<string, string>? options) : IAlgorithm
{
    public const string AlgorithmName = "test-reference-only";

    public static void EnsureRegistered() =>
        AlgorithmRegistry.Register(AlgorithmInfo.Sequence(AlgorithmName, "outputs π_ref (tests only)", p => new ReferenceOnlyAlgorithm(p)));

    public string Name => AlgorithmName;

    public LearningTarget Target { get; } = Read(options);

    public AlgorithmOutput Run(ILearnerEnvironment environment, Rng rng, IProgress<double>? progress, CancellationToken cancellationToken) =>
        new(new ReferencePolicy(), RunStatus.Ok, new Dictionary<string, double>());

    private static LearningTarget Read(IReadOnlyDictionary<string, string>? options)
    {
        var p = OptionReader.ForAlgorithm(AlgorithmName, options);
        var target = LearningTarget.Read(p);
        p.RejectUnknown();
        return target;
    }

    /// <summary>π_ref: one sampling-oracle call per draw; its law is π_ref's.</summary>
    private sealed class ReferencePolicy : IOutputPolicy
    {
        public SamplerDraw Sample(ILearnerEnvironment environment, Prompt prompt, Rng rng) => new(environment.Sample(prompt, rng), false, 1);

        public OutputLaw Law(EnumerableInstance instance)
        {
            var reference = TabularPolicy.Reference(instance);
            return new OutputLaw(reference, reference, 1, null, new Dictionary<string, double>());
        }
    }
}

public sealed class ReferenceOnlyAlgorithmTests
{
    public ReferenceOnlyAlgorithmTests() => ReferenceOnlyAlgorithm.EnsureRegistered();

    [Fact]
    public void RunsEndToEnd_ThroughTheCli_AndItsOutputIsPiRef()
    {
        var result = CliHarness.Invoke("run", "--instance", "needle", "--param", "ccov=100", "--algo", ReferenceOnlyAlgorithm.AlgorithmName,
            "--seed", "1", "--json").SingleJsonObject();
        Assert.Equal(ReferenceOnlyAlgorithm.AlgorithmName, result.GetProperty("algorithm").GetString());
        Assert.Equal(0, result.GetProperty("T_data").GetInt64());
        Assert.Equal("exact", result.GetProperty("evaluation").GetString());
        // The output is π_ref, so its value is J_ref exactly.
        Assert.Equal(result.GetProperty("J_ref").GetDouble(), result.GetProperty("J_out").GetDouble(), 12);
        Assert.Equal(1.0, result.GetProperty("output_sample_cost").GetDouble());
    }

    [Fact]
    public void RunsOnATextTask_AndRefusesUnknownOptions()
    {
        var text = CliHarness.Invoke("run", "--task", "letters", "--algo", ReferenceOnlyAlgorithm.AlgorithmName, "--seed", "1",
            "--param", "eval-samples=20", "--json").SingleJsonObject();
        Assert.Equal("monte_carlo", text.GetProperty("evaluation").GetString());
        Assert.Equal(0, text.GetProperty("T_data").GetInt64());
        CliHarness.Invoke("run", "--instance", "needle", "--algo", ReferenceOnlyAlgorithm.AlgorithmName, "--seed", "1",
            "--algo-param", "colour=red").AssertBadInput("an unknown option of a registered algorithm");
    }
}
