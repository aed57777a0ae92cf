using System.Collections.Immutable;
using LmExplore.Instances;
using LmExplore.Numerics;
using LmExplore.Oracles;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace LmExplore.Tests.Oracles;

/// <summary>
/// An algorithm sees only what it paid for: code outside the library cannot construct a <see cref="Response"/> or a
/// <see cref="Prompt"/> (compile time — checked with Roslyn, since this test assembly is a friend of the library),
/// and the oracles refuse <c>default</c> handles and handles another environment issued (run time).
/// </summary>
public class HandleForgeryTests
{
    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !Path.GetFileNameWithoutExtension(p).Equals("LmExplore", StringComparison.OrdinalIgnoreCase))
            .Append(typeof(Response).Assembly.Location);
        return [.. paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    });

    /// <summary>Compiles <paramref name="source"/> as an outside library against LmExplore.dll; returns its errors.</summary>
    private static string[] CompileOutside(string source)
    {
        var compilation = CSharpCompilation.Create("OutsideAlgorithm_" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source)], References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        return result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => $"{d.Id}: {d.GetMessage()}").ToArray();
    }

    private const string Usings = "using LmExplore.Oracles; using LmExplore.Numerics; using System;\n";

    [Fact]
    public void ControlSnippet_UsingThePublicApi_Compiles()
    {
        var errors = CompileOutside(Usings + """
            public static class HonestAlgorithm
            {
                public static double Step(ILearnerEnvironment env, Rng rng)
                {
                    Prompt x = env.DrawPrompt(rng);
                    Response y = env.Sample(x, rng);
                    ReadOnlySpan<double> phi = env.Features(y);
                    double total = env.Query(y) + phi[0] + y.LogRefProb + y.Index + x.Index;
                    if (env.CanEnumerate) foreach (var r in env.Enumerate(x)) total += env.Features(r)[0];
                    return total;
                }
            }
            """);
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("Response", "new Response(0, 5, 1, 0.0)")]
    [InlineData("Response", "new Response(0, 5, 1)")]
    [InlineData("Prompt", "new Prompt(0, 1)")]
    [InlineData("Prompt", "new Prompt(3)")]
    public void ForgingAHandle_DoesNotCompile(string type, string expression)
    {
        var errors = CompileOutside(Usings + $$"""
            public static class Forger
            {
                public static {{type}} Forge() => {{expression}};
            }
            """);
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.True(e.StartsWith("CS0122") || e.StartsWith("CS1729"), e));
    }

    [Theory]
    [InlineData("int Stamp(Response y) => y.Issuer;")]
    [InlineData("int Stamp(Prompt x) => x.Issuer;")]
    public void ReadingTheIssuerStamp_DoesNotCompile(string member)
    {
        var errors = CompileOutside(Usings + $"public static class Peek {{ public static {member} }}");
        Assert.Contains(errors, e => e.StartsWith("CS0122") || e.StartsWith("CS1061"));
    }

    private static EnumerableInstance Instance() => PolicyFixtures.SmallInstance(n: 6);

    public static TheoryData<string> Oracles => new() { "Features", "Query", "Sample", "Enumerate" };

    private static void Call(EnumerableEnvironment env, string oracle, Prompt x, Response y)
    {
        switch (oracle)
        {
            case "Features": _ = env.Features(y)[0]; break;
            case "Query": env.Query(y); break;
            case "Sample": env.Sample(x, new Rng(1)); break;
            case "Enumerate": env.Enumerate(x); break;
            default: throw new ArgumentException(oracle);
        }
    }

    [Theory]
    [MemberData(nameof(Oracles))]
    public void DefaultHandles_AreRefused(string oracle)
    {
        var meter = new Meter();
        var env = new EnumerableEnvironment(Instance(), meter, new Rng(1));
        var x = env.DrawPrompt(new Rng(2));
        var y = env.Sample(x, new Rng(3));
        long comp = meter.TComp;
        // default(Prompt) for the prompt oracles, default(Response) for the response oracles; the other handle is genuine.
        bool promptOracle = oracle is "Sample" or "Enumerate";
        var e = Assert.Throws<ForeignHandleException>(() => Call(env, oracle, promptOracle ? default : x, promptOracle ? y : default));
        Assert.Contains(promptOracle ? "default(Prompt)" : "default(Response)", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal((comp, 0L), (meter.TComp, meter.TData));     // a refused call costs nothing
    }

    [Theory]
    [MemberData(nameof(Oracles))]
    public void HandlesOfAnotherEnvironment_AreRefused(string oracle)
    {
        var instance = Instance();
        var meter = new Meter();
        var env = new EnumerableEnvironment(instance, meter, new Rng(1));
        // Another environment over the very same instance: same indices, different issuer.
        var other = new EnumerableEnvironment(instance, new Meter(), new Rng(1));
        var foreignPrompt = other.DrawPrompt(new Rng(2));
        var foreignResponse = other.Sample(foreignPrompt, new Rng(3));
        var ownPrompt = env.DrawPrompt(new Rng(2));
        Assert.Equal(foreignPrompt.Index, ownPrompt.Index);
        Assert.NotEqual(foreignPrompt, ownPrompt);
        bool promptOracle = oracle is "Sample" or "Enumerate";
        var e = Assert.Throws<ForeignHandleException>(() => Call(env, oracle, promptOracle ? foreignPrompt : ownPrompt, foreignResponse));
        Assert.Contains("issued by another environment", e.Message);
        Assert.Contains(promptOracle ? foreignPrompt.ToString() : foreignResponse.ToString(), e.Message);
        Assert.Equal((0L, 0L), (meter.TComp, meter.TData));
        // The genuine handles work.
        Call(env, oracle, ownPrompt, env.Sample(ownPrompt, new Rng(4)));
    }
}
