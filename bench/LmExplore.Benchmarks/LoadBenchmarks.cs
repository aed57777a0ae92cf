using BenchmarkDotNet.Attributes;
using LmExplore.Instances;

namespace LmExplore.Benchmarks;

/// <summary>
/// Loading a 10⁶-response instance (one prompt, d = 16, the <c>linear</c> family with seed 1) from its
/// <c>lmexplore.instance/v1</c> JSON file (≈ 400 MB) and from the equivalent uncompressed <c>.npz</c> (≈ 136 MB), through
/// <see cref="InstanceFile.Load"/> as every command does: parse or copy, validation, rewards ⟨θ*, φ⟩, alias table.
/// The files are written once to <c>$TMPDIR/lmexplore-bench-load/</c> and kept, so that
/// <c>scripts/npz-load-timing.py</c> can time numpy's own <c>np.load</c> of the same .npz.
/// </summary>
[MemoryDiagnoser]
public class LoadBenchmarks
{
    /// <summary>Where the benchmark files live.</summary>
    public static string Directory => Path.Combine(Path.GetTempPath(), "lmexplore-bench-load");

    private string _json = "", _npz = "";

    [GlobalSetup]
    public void Setup()
    {
        System.IO.Directory.CreateDirectory(Directory);
        _json = Path.Combine(Directory, "linear-1e6-d16.json");
        _npz = Path.Combine(Directory, "linear-1e6-d16.npz");
        if (File.Exists(_json) && File.Exists(_npz)) return;
        var instance = InstanceCatalog.Create("linear", new Dictionary<string, string>
        {
            ["prompts"] = "1", ["responses"] = "1000000", ["d"] = "16",
        }, seed: 1);
        InstanceJson.Write(instance, _json);
        NpzInstance.Write(instance, _npz);
    }

    /// <summary>The streaming JSON reader (the strict document reader only takes over for unusual files).</summary>
    [Benchmark]
    public int LoadJson() => InstanceFile.Load(_json).Enumerable!.Prompts[0].ResponseCount;

    /// <summary>The .npz reader: features copied in bulk into the prompt's contiguous array.</summary>
    [Benchmark(Baseline = true)]
    public int LoadNpz() => InstanceFile.Load(_npz).Enumerable!.Prompts[0].ResponseCount;
}
