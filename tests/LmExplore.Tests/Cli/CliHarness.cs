using LmExplore.Runs;
using System.Diagnostics;
using System.Text.Json;
using LmExplore.Cli;
using LmExplore.Experiments;

namespace LmExplore.Tests.Cli;

/// <summary>What one in-process invocation of the CLI produced.</summary>
internal sealed record CliOutcome(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Non-empty lines of stderr.</summary>
    public string[] ErrorLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Asserts the bad-input contract: exit 2, nothing on stdout, exactly one "error: …" line on stderr.</summary>
    public void AssertBadInput(string because)
    {
        Assert.True(ExitCode == 2, $"{because}: expected exit 2, got {ExitCode}; stderr: {Stderr}; stdout: {Stdout}");
        Assert.True(Stdout.Length == 0, $"{because}: stdout should be empty, got: {Stdout}");
        Assert.True(ErrorLines.Length == 1, $"{because}: expected one stderr line, got {ErrorLines.Length}: {Stderr}");
        Assert.StartsWith("error: ", ErrorLines[0]);
        Assert.DoesNotContain("   at ", Stderr); // no stack trace
    }

    /// <summary>Parses stdout as exactly one JSON object on one line.</summary>
    public JsonElement SingleJsonObject()
    {
        Assert.True(ExitCode is 0 or 3, $"exit {ExitCode}; stderr: {Stderr}");
        var lines = Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }
}

/// <summary>Invokes the CLI in-process with private writers (safe to run in parallel) and, optionally, a fake runner.</summary>
internal static class CliHarness
{
    public static CliOutcome Invoke(params string[] args) => Invoke(null, args);

    public static CliOutcome Invoke(RunFunc? runner, params string[] args) => Invoke(runner, TimeSpan.FromSeconds(5), args);

    /// <summary>Invokes with the given least time between progress lines (zero: a line at every step).</summary>
    public static CliOutcome Invoke(RunFunc? runner, TimeSpan progressInterval, params string[] args)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        var context = new CliContext { Out = stdout, Error = stderr, Interactive = false, Run = runner ?? Runner.Run, ProgressInterval = progressInterval };
        int code = CliApp.Invoke(args, context);
        return new CliOutcome(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A runner that returns a fixed result shaped by the request (for testing the CLI alone).</summary>
    public static RunFunc Fake(string status = "ok", Action<RunRequest>? inspect = null) => (request, progress, _) =>
    {
        inspect?.Invoke(request);
        progress?.Report(1.0);
        return TestResults.Flat(request.Instance, request.Algorithm, request.Seed, 0.1, 4, status,
            TData: 10, TComp: 100, TTokens: 0, JOpt: 0.5, JRef: 0.1, JOut: 0.45, Suboptimality: 0.05,
            SuboptimalityCiLow: null, SuboptimalityCiHigh: null, SuboptimalityTarget: 0.04, ExpectedRewardOut: 0.6, Epsilon: 0.01,
            ReachedEpsilon: false, Evaluation: "exact", OutputSampleCost: 12.5, CCov: 100, CCond: null, WallSeconds: 0.25,
            Diagnostics: new Dictionary<string, double> { ["spanner_size"] = 4, ["not_finite"] = double.PositiveInfinity });
    };

    /// <summary>
    /// Starts the built CLI as a separate process (for what only processes can show: file locks, signals), with
    /// stdout and stderr redirected and <c>CI=true</c>, so it behaves as in a batch job.
    /// </summary>
    public static Process Start(params string[] args)
    {
        var cli = System.IO.Path.Combine(AppContext.BaseDirectory, "LmExplore.Cli.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CI"] = "true";
        return Process.Start(psi)!;
    }

    /// <summary>Waits for a process started by <see cref="Start"/> and collects what it printed.</summary>
    public static CliOutcome Finish(Process process, TimeSpan timeout)
    {
        // Read both streams concurrently: a child blocked on a full stderr pipe would never exit.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lmexplore did not exit within {timeout.TotalSeconds} s");
        }
        return new CliOutcome(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>A fresh temporary directory, deleted by the returned handle.</summary>
    public static TempDir TempDir() => new();
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lmexplore-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string content)
    {
        var path = File(name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
