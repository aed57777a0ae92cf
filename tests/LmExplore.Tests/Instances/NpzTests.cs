using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using LmExplore.Evaluation;
using LmExplore.Instances;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Instances;

/// <summary>numpy .npz instances: files written here by hand (zip + .npy header, independent of the library's writer)
/// load equal to their JSON equivalent; every malformed file is exit 2 with one line naming the array.</summary>
public class NpzTests
{
    /// <summary>One array for <see cref="WriteNpz"/>: raw header dict text (so tests can break it) and the data bytes.</summary>
    public sealed record NpyMember(string Name, string Header, byte[] Data, int Version = 1);

    private static NpyMember F8(string name, double[] values, params int[] shape) =>
        new(name, $"{{'descr': '<f8', 'fortran_order': False, 'shape': {Shape(shape)}, }}", Bytes(values));

    private static NpyMember I8(string name, long[] values, params int[] shape)
    {
        var data = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * 8), values[i]);
        return new(name, $"{{'descr': '<i8', 'fortran_order': False, 'shape': {Shape(shape)}, }}", data);
    }

    private static string Shape(int[] shape) => shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";

    private static byte[] Bytes(double[] values)
    {
        var data = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), values[i]);
        return data;
    }

    /// <summary>A zip of .npy members, each: magic, version, header length, header text padded to 64 bytes + '\n', data.</summary>
    private static void WriteNpz(string path, CompressionLevel level, params NpyMember[] members)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var m in members)
        {
            using var s = zip.CreateEntry(m.Name + ".npy", level).Open();
            int lengthBytes = m.Version == 1 ? 2 : 4;
            int unpadded = 8 + lengthBytes + m.Header.Length + 1;
            string header = m.Header + new string(' ', (64 - unpadded % 64) % 64) + "\n";
            s.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)m.Version, 0]);
            var len = new byte[lengthBytes];
            if (m.Version == 1) BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
            else BinaryPrimitives.WriteUInt32LittleEndian(len, (uint)header.Length);
            s.Write(len);
            s.Write(Encoding.Latin1.GetBytes(header));
            s.Write(m.Data);
        }
    }

    // Two prompts × three responses, d = 2; the JSON below is the same instance.
    private static readonly double[] Features = [0.5, -1, 0.25, 2, -0.75, 0.125, /* prompt 1 */ 1, 1, -2, 0.5, 0, 0.3];
    private static readonly double[] Probs = [0.5, 0.25, 0.25, 0.2, 0.3, 0.5];
    private const string Json = """
        { "format": "lmexplore.instance/v1", "beta": 0.05, "featureDim": 2, "theta": [1, -0.5],
          "noise": { "kind": "gaussian", "sigma": 0.2 },
          "prompts": [
            { "weight": 0.75, "responses": [ { "refProb": 0.5, "features": [0.5, -1] }, { "refProb": 0.25, "features": [0.25, 2] }, { "refProb": 0.25, "features": [-0.75, 0.125] } ] },
            { "weight": 0.25, "responses": [ { "refProb": 0.2, "features": [1, 1] }, { "refProb": 0.3, "features": [-2, 0.5] }, { "refProb": 0.5, "features": [0, 0.3] } ] } ] }
        """;

    private static NpyMember[] Good(bool logRef) =>
    [
        F8("features", Features, 2, 3, 2),
        logRef ? F8("log_ref", Probs.Select(p => Math.Log(p)).ToArray(), 2, 3) : F8("ref_probs", Probs, 2, 3),
        F8("theta", [1, -0.5], 2),
        F8("beta", [0.05]),
        F8("weights", [0.75, 0.25], 2),
        F8("noise_sigma", [0.2]),
    ];

    private static void AssertSameInstance(EnumerableInstance expected, EnumerableInstance actual)
    {
        Assert.Equal(expected.Beta, actual.Beta);
        Assert.Equal(expected.Theta, actual.Theta);
        Assert.Equal(expected.Noise, actual.Noise);
        Assert.Equal(expected.Prompts.Count, actual.Prompts.Count);
        for (int x = 0; x < expected.Prompts.Count; x++)
        {
            Assert.Equal(expected.Prompts[x].Weight, actual.Prompts[x].Weight);
            Assert.Equal(expected.Prompts[x].LogRefProbs, actual.Prompts[x].LogRefProbs);
            Assert.Equal(expected.Prompts[x].FeatureMatrix.ToArray(), actual.Prompts[x].FeatureMatrix.ToArray());
        }
        Assert.Equal(ExactEvaluator.Summarize(expected), ExactEvaluator.Summarize(actual));
    }

    [Theory]
    [InlineData(CompressionLevel.NoCompression, false)]   // np.savez
    [InlineData(CompressionLevel.Optimal, false)]         // np.savez_compressed (deflate)
    [InlineData(CompressionLevel.NoCompression, true)]
    public void HandWrittenNpzLoadsEqualToItsJson(CompressionLevel level, bool logRef)
    {
        using var dir = CliHarness.TempDir();
        string npz = dir.File("inst.npz");
        WriteNpz(npz, level, Good(logRef));
        var fromJson = InstanceCatalog.Load(dir.Write("inst.json", Json)).Enumerable!;
        var fromNpz = InstanceCatalog.Load(npz).Enumerable!;
        // log_ref carries Math.Log(p), which is what the JSON reader makes of refProb p: the same doubles either way.
        AssertSameInstance(fromJson, fromNpz);
        Assert.Equal("inst.npz", fromNpz.Name);
    }

    [Fact]
    public void OnePromptTwoDimensionalFeaturesAndIntegerArrays()
    {
        using var dir = CliHarness.TempDir();
        string npz = dir.File("one.npz");
        // features [responses, d], ref_probs [responses], theta as int64, no weights, no noise.
        WriteNpz(npz, CompressionLevel.NoCompression,
            I8("features", [1, 0, 0, 1, 2, 2], 3, 2), F8("ref_probs", [0.5, 0.25, 0.25], 3), I8("theta", [1, -1], 2), F8("beta", [0.5], 1));
        var inst = InstanceCatalog.Load(npz).Enumerable!;
        Assert.Single(inst.Prompts);
        Assert.Equal(1.0, inst.Prompts[0].Weight);
        Assert.Equal(NoiseModel.None, inst.Noise);
        Assert.Equal([1.0, -1.0, 0.0], inst.Prompts[0].Rewards);
        Assert.Equal([2.0, 2.0], inst.Prompts[0].FeatureRow(2).ToArray());
    }

    [Fact]
    public void ExportToNpzRoundTripsBitForBit()
    {
        using var dir = CliHarness.TempDir();
        var original = InstanceCatalog.Create("needle", new Dictionary<string, string> { ["ccov"] = "1e6", ["beta"] = "1e-3", ["responses"] = "300" }, 4);
        string npz = dir.File("needle.npz");
        var outcome = CliHarness.Invoke("instance", "export", "--instance", "needle", "--param", "ccov=1e6", "--param", "beta=1e-3",
            "--param", "responses=300", "--seed", "4", "--out", npz);
        Assert.Equal(0, outcome.ExitCode);
        AssertSameInstance(original, InstanceCatalog.Load(npz).Enumerable!);
    }

    public static TheoryData<string, Func<NpyMember[], NpyMember[]>, string> BadCases => new()
    {
        { "no-features", m => m.Where(a => a.Name != "features").ToArray(), "features: missing (required array)" },
        { "no-beta", m => m.Where(a => a.Name != "beta").ToArray(), "beta: missing (required array)" },
        { "no-ref", m => m.Where(a => a.Name != "ref_probs").ToArray(), "log_ref: missing (give log_ref or ref_probs)" },
        { "both-refs", m => [.. m, F8("log_ref", new double[6], 2, 3)], "give either log_ref or ref_probs, not both" },
        { "unknown", m => [.. m, F8("thetta", [1, 2], 2)], "unknown array 'thetta' (known: features, log_ref, ref_probs, theta, beta, weights, noise_sigma)" },
        { "fortran", m => Replace(m, "features", a => a with { Header = a.Header.Replace("False", "True") }), "features: is stored in Fortran order" },
        { "float32", m => Replace(m, "theta", a => a with { Header = a.Header.Replace("<f8", "<f4") }), "theta: dtype '<f4' is not supported" },
        { "big-endian", m => Replace(m, "features", a => a with { Header = a.Header.Replace("<f8", ">f8") }), "features: dtype '>f8' is big-endian" },
        { "no-shape", m => Replace(m, "features", a => a with { Header = "{'descr': '<f8', 'fortran_order': False, }" }), "features: malformed .npy header (missing key 'shape')" },
        { "garbage-header", m => Replace(m, "weights", a => a with { Header = "{'descr': '<f8', 'fortran_order': Nope, 'shape': (2,), }" }), "weights: malformed .npy header (expected True or False" },
        { "bad-magic", m => Replace(m, "beta", a => a with { Version = 7 }), "beta: unsupported .npy format version 7.0" },
        { "truncated", m => Replace(m, "features", a => a with { Data = a.Data[..^8] }), "features: data is truncated" },
        { "trailing", m => Replace(m, "theta", a => a with { Data = [.. a.Data, .. new byte[8]] }), "theta: 8 bytes after the data" },
        { "theta-shape", m => Replace(m, "theta", _ => F8("theta", [1, 2, 3], 3)), "theta: has shape (3,), expected [d] = (2,)" },
        { "ref-shape", m => Replace(m, "ref_probs", _ => F8("ref_probs", Probs, 3, 2)), "ref_probs: has shape (3, 2), expected [prompts, responses] = (2, 3)" },
        { "features-1d", m => Replace(m, "features", _ => F8("features", Features, 12)), "features: has shape (12,); expected [prompts, responses, d] or [responses, d]" },
        { "beta-range", m => Replace(m, "beta", _ => F8("beta", [1e300])), "beta: must be in [0.0001, 1000] (got 1E+300)" },
        { "probs-sum", m => Replace(m, "ref_probs", _ => F8("ref_probs", [0.5, 0.25, 0.3, 0.2, 0.3, 0.5], 2, 3)), "ref_probs[0, :]: must sum to 1 within 1E-09" },
        { "prob-zero", m => Replace(m, "ref_probs", _ => F8("ref_probs", [0.5, 0.5, 0, 0.2, 0.3, 0.5], 2, 3)), "ref_probs[0, 2]: must be a positive finite probability (got 0)" },
        { "nan-theta", m => Replace(m, "theta", _ => F8("theta", [double.NaN, 1], 2)), "theta: element 0 is not finite (NaN)" },
        { "huge-feature", m => Replace(m, "features", _ => F8("features", [.. Features[..7], 1e300, .. Features[8..]], 2, 3, 2)), "features[1, 0, 1]: must be finite with |value| ≤" },
        { "weights-sum", m => Replace(m, "weights", _ => F8("weights", [0.75, 0.5], 2)), "weights: must sum to 1 within 1E-09 (sum is 1.25)" },
        { "sigma-negative", m => Replace(m, "noise_sigma", _ => F8("noise_sigma", [-1])), "noise_sigma: must be a finite number ≥ 0 (got -1)" },
    };

    private static NpyMember[] Replace(NpyMember[] members, string name, Func<NpyMember, NpyMember> change) =>
        members.Select(a => a.Name == name ? change(a) : a).ToArray();

    [Theory]
    [MemberData(nameof(BadCases))]
    public void BadNpzIsOneLineExit2NamingTheArray(string name, Func<NpyMember[], NpyMember[]> corrupt, string expected)
    {
        using var dir = CliHarness.TempDir();
        string npz = dir.File(name + ".npz");
        WriteNpz(npz, CompressionLevel.NoCompression, corrupt(Good(logRef: false)));
        var outcome = CliHarness.Invoke("instance", "inspect", npz, "--json");
        outcome.AssertBadInput(name);
        Assert.Contains($"{npz}: {expected}", outcome.Stderr);
    }

    [Fact]
    public void NotAZipIsOneLineExit2()
    {
        using var dir = CliHarness.TempDir();
        string npz = dir.Write("plain.npz", "{ \"format\": \"lmexplore.instance/v1\" }");
        var outcome = CliHarness.Invoke("instance", "inspect", npz);
        outcome.AssertBadInput("json named .npz");
        Assert.Contains("not a .npz file (not a valid zip archive)", outcome.Stderr);
        CliHarness.Invoke("instance", "inspect", dir.File("absent.npz")).AssertBadInput("missing file");
    }

    [NumpyFact]
    public void NumpySavezFileLoads()
    {
        using var dir = CliHarness.TempDir();
        string npz = dir.File("numpy.npz"), npzc = dir.File("numpyc.npz");
        string script = $$"""
            import numpy as np
            features = np.array({{PyList(Features)}}).reshape(2, 3, 2)
            np.savez(r'{{npz}}', features=features, ref_probs=np.array({{PyList(Probs)}}).reshape(2, 3), theta=np.array([1, -0.5]),
                     beta=0.05, weights=np.array([0.75, 0.25]), noise_sigma=0.2)
            np.savez_compressed(r'{{npzc}}', features=features, log_ref=np.log(np.array({{PyList(Probs)}}).reshape(2, 3)),
                     theta=np.array([1, -0.5]), beta=np.float64(0.05), weights=np.array([0.75, 0.25]), noise_sigma=np.array(0.2))
            """;
        var psi = new ProcessStartInfo(NumpyFactAttribute.Python!, ["-c", script]) { RedirectStandardError = true };
        using (var proc = Process.Start(psi)!)
        {
            string err = proc.StandardError.ReadToEnd();
            proc.WaitForExit();
            Assert.True(proc.ExitCode == 0, err);
        }
        var fromJson = InstanceCatalog.Load(dir.Write("inst.json", Json)).Enumerable!;
        AssertSameInstance(fromJson, InstanceCatalog.Load(npz).Enumerable!);
        // np.log may differ from Math.Log in the last bit: compare the compressed file's log-probabilities to 1 ulp-ish.
        var c = InstanceCatalog.Load(npzc).Enumerable!;
        for (int x = 0; x < 2; x++)
            for (int y = 0; y < 3; y++)
                Assert.Equal(fromJson.Prompts[x].LogRefProbs[y], c.Prompts[x].LogRefProbs[y], 14);
    }

    private static string PyList(double[] values) => "[" + string.Join(", ", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]";
}

/// <summary>A fact reported as skipped when no python3 with numpy is found (PATH, then /usr/bin/python3).</summary>
public sealed class NumpyFactAttribute : FactAttribute
{
    /// <summary>A python3 that imports numpy, or null.</summary>
    public static string? Python { get; } = Find();

    private static string? Find()
    {
        foreach (var candidate in new[] { LmExplore.Tests.Evaluation.ExactEvaluatorTests.FindOnPath("python3"), "/usr/bin/python3" })
            if (candidate is not null && File.Exists(candidate) && LmExplore.Tests.Evaluation.ExactEvaluatorTests.Runs(candidate, "-c", "import numpy"))
                return candidate;
        return null;
    }

    public NumpyFactAttribute()
    {
        if (Python is null) Skip = "no python3 with numpy: the numpy.savez round trip cannot run (the hand-written .npz tests still do)";
    }
}
