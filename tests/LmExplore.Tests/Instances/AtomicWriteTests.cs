using LmExplore.Instances;
using LmExplore.Tests.Cli;

namespace LmExplore.Tests.Instances;

/// <summary>
/// Regression: a write that failed with anything but an I/O error (a bug, a cancellation) left its
/// hidden temp file behind, and so did a SIGTERM mid-write (checked by hand: `kill -TERM` during a 400 MB export
/// now leaves only the untouched target). The target is never touched by a failed write.
/// </summary>
public class AtomicWriteTests
{
    [Fact]
    public void FailedWrite_LeavesTargetUntouched_AndNoTempFile()
    {
        using var dir = CliHarness.TempDir();
        var target = dir.Write("target.json", "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, w =>
        {
            w.Write(new string('x', 1 << 17));   // past the buffers: bytes reach the temp file
            throw new InvalidOperationException("writer failed");
        }));
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Equal(["target.json"], Directory.GetFiles(dir.Path).Select(p => Path.GetFileName(p)).ToArray());
    }

    [Fact]
    public void SuccessfulWrite_ReplacesTarget_AndLeavesNoTempFile()
    {
        using var dir = CliHarness.TempDir();
        var target = dir.Write("target.json", "old");
        AtomicFile.WriteAllText(target, "new");
        Assert.Equal("new", File.ReadAllText(target));
        Assert.Single(Directory.GetFiles(dir.Path));
    }
}

/// <summary>Regression: an empty <c>--out</c> was an internal error (exit 1) in run and export.</summary>
public class EmptyOutPathTests
{
    [Fact]
    public void EmptyOut_IsABadInput()
    {
        CliHarness.Invoke("run", "--instance", "needle", "--param", "responses=20", "--algo", "passive", "--seed", "1", "--json", "--out", "")
            .AssertBadInput("run --out ''");
        CliHarness.Invoke("instance", "export", "--instance", "needle", "--param", "responses=20", "--seed", "1", "--out", "")
            .AssertBadInput("instance export --out ''");
    }
}
