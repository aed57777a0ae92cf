using LmExplore.Experiments;
using LmExplore.Experiments.Sweeps;

namespace LmExplore.Tests.Cli;

/// <summary>A sweep config that sets a key twice runs a sweep its author did not read: refused, naming the key.</summary>
public class DuplicateKeyTests
{
    [Theory]
    [InlineData("""{ "format": "lmexplore.sweep/v1", "seeds": 2, "instance": "needle", "algorithms": ["passive"], "seeds": 3 }""", "$: key 'seeds' appears twice")]
    [InlineData("""{ "format": "lmexplore.sweep/v1", "instance": "needle", "algorithms": [{ "name": "spanner", "params": { "epsilon": 0.1, "epsilon": 0.01 } }] }""",
        "$.algorithms[0].params: key 'epsilon' appears twice")]
    [InlineData("""{ "format": "lmexplore.sweep/v1", "instance": "needle", "grid": { "ccov": [10], "ccov": [100] }, "algorithms": ["passive"] }""",
        "$.grid: key 'ccov' appears twice")]
    public void SweepConfig_WithADuplicateKey_IsRefusedNamingTheKey(string json, string message)
    {
        Assert.Contains(message, Assert.Throws<InputException>(() => SweepConfig.Parse(json)).Message);

        using var dir = CliHarness.TempDir();
        var r = CliHarness.Invoke("sweep", "--config", dir.Write("sweep.json", json), "--out", dir.File("out"));
        r.AssertBadInput("a sweep config with a duplicate key");
        Assert.Contains(message, r.Stderr);
        Assert.False(Directory.Exists(dir.File("out")));
    }
}
