using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LmExplore.Text;

/// <summary>A checker of answers: the reward of a (prompt, response) pair. <see cref="Answered"/> counts calls it answered.</summary>
public interface IVerifier : IDisposable
{
    /// <summary>The reward of <paramref name="response"/> to <paramref name="prompt"/>. Throws <see cref="VerifierException"/>
    /// when the verifier cannot give one (the run must stop).</summary>
    double Score(string prompt, string response);

    /// <summary>Calls answered so far (what T_data counts; a call that failed is not counted).</summary>
    long Answered { get; }

    /// <summary>Restarts after a crash so far.</summary>
    long Restarts { get; }

    /// <summary>For messages: "builtin:letters", "command: …".</summary>
    string Description { get; }
}

/// <summary>An external command (verifier or feature command) that failed: hang, crash beyond the retries, garbage. The run stops;
/// the CLI reports the one-line message with exit code 2.</summary>
public sealed class VerifierException(string message) : Exception(message);

/// <summary>A verifier computed in-process by a function (the built-in task checkers).</summary>
public sealed class FunctionVerifier(string description, Func<string, string, double> score) : IVerifier
{
    /// <inheritdoc />
    public double Score(string prompt, string response)
    {
        double r = score(prompt, response);
        Answered++;
        return r;
    }

    /// <inheritdoc />
    public long Answered { get; private set; }
    /// <inheritdoc />
    public long Restarts => 0;
    /// <inheritdoc />
    public string Description { get; } = description;
    /// <inheritdoc />
    public void Dispose() { }
}

/// <summary>
/// An external verifier command (docs/FORMATS.md, "Verifier protocol"): one JSON line <c>{"prompt": …, "response": …}</c>
/// in, one JSON line <c>{"reward": number}</c> back, over a kept-running process (<see cref="JsonLineProcess"/>: hangs,
/// crashes and retries are handled there). A reply without a finite number <c>reward</c> (garbage) stops the run,
/// quoting the reply.
/// </summary>
public sealed class CommandVerifier : IVerifier
{
    /// <summary>Default reply timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = JsonLineProcess.DefaultTimeout;
    /// <summary>Default restarts per request after a crash.</summary>
    public const int DefaultRetries = JsonLineProcess.DefaultRetries;

    private readonly JsonLineProcess _process;

    /// <summary>Creates the client; the process starts on the first call.</summary>
    public CommandVerifier(string command, TimeSpan? timeout = null, int retries = DefaultRetries)
    {
        if (string.IsNullOrWhiteSpace(command)) throw new InputException("--verifier needs a command (got an empty string)");
        _process = new JsonLineProcess("verifier", command, timeout ?? DefaultTimeout, retries);
    }

    /// <inheritdoc />
    public long Answered => _process.Answered;
    /// <inheritdoc />
    public long Restarts => _process.Restarts;
    /// <inheritdoc />
    public string Description => $"command: {_process.Command}";

    /// <inheritdoc />
    public double Score(string prompt, string response)
    {
        string request = JsonSerializer.Serialize(new Dictionary<string, string> { ["prompt"] = prompt, ["response"] = response });
        return _process.Call(request, reply =>
        {
            using var doc = JsonDocument.Parse(reply);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("reward", out var r)
                && r.ValueKind == JsonValueKind.Number && r.TryGetDouble(out double v) && double.IsFinite(v)
                ? v : (double?)null;
        }, "{\"reward\": number}");
    }

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();
}

/// <summary>
/// A kept-running external command spoken to in JSON lines (verifiers, feature commands), started through
/// <c>/bin/sh -c</c>: one request line on its stdin, one reply line back on its stdout, in order. Faults:
/// <list type="bullet">
/// <item>no reply within the timeout (a hang; the first reply after each start may take <see cref="StartupGrace"/> longer):
/// the process is killed and the run stops with an error — no retry, since a hang would cost the timeout again;</item>
/// <item>the process exits or closes stdout before replying (a crash): it is restarted and the same request sent again,
/// at most <c>retries</c> times per request — safe because a request is idempotent, and exact because only answered
/// calls are counted; beyond that, an error;</item>
/// <item>a reply the caller cannot parse (garbage): an error quoting the reply.</item>
/// </list>
/// Stderr of the command is drained and its last line quoted in errors. Errors are <see cref="VerifierException"/>s.
/// </summary>
public sealed class JsonLineProcess : IDisposable
{
    /// <summary>Default reply timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    /// <summary>Extra time allowed for the first reply after each (re)start: a command's start-up (an interpreter, a model)
    /// is not a hang.</summary>
    public static readonly TimeSpan StartupGrace = TimeSpan.FromSeconds(30);
    /// <summary>Default restarts per request after a crash.</summary>
    public const int DefaultRetries = 2;

    private readonly string _role;
    private readonly TimeSpan _timeout;
    private readonly int _retries;
    private Process? _process;
    private string _lastStderr = "";
    private readonly Lock _stderrLock = new();

    /// <summary>Creates the client (<paramref name="role"/> names it in messages); the process starts on the first call.</summary>
    public JsonLineProcess(string role, string command, TimeSpan timeout, int retries)
    {
        if (string.IsNullOrWhiteSpace(command)) throw new InputException($"the {role} needs a command (got an empty string)");
        if (retries < 0) throw new InputException($"{role} retries must be ≥ 0, got {retries}");
        if (timeout <= TimeSpan.Zero) throw new InputException($"{role} timeout must be positive");
        _role = role;
        Command = command;
        _timeout = timeout;
        _retries = retries;
    }

    /// <summary>The command line.</summary>
    public string Command { get; }
    /// <summary>Requests answered so far (a reply that parsed).</summary>
    public long Answered { get; private set; }
    /// <summary>Restarts after a crash so far.</summary>
    public long Restarts { get; private set; }

    /// <summary>Sends <paramref name="request"/> (one line) and parses the reply with <paramref name="parse"/> (null or a
    /// <see cref="JsonException"/>: garbage, described as <paramref name="expected"/> in the error).</summary>
    public T Call<T>(string request, Func<string, T?> parse, string expected) where T : struct
    {
        for (int attempt = 0; ; attempt++)
        {
            bool fresh = _process is null;
            var process = _process ??= Start();
            string? reply = null;
            bool crashed = false;
            try
            {
                // The request is written while the reply is awaited, both under the timeout: a process that does not read
                // its input cannot block the run on a full pipe, and one that exits after printing its reply (a broken
                // pipe on our side) is judged by what it printed.
                var clock = Stopwatch.StartNew();
                var limit = fresh ? _timeout + StartupGrace : _timeout;
                var write = WriteAsync(process, request);
                var read = process.StandardOutput.ReadLineAsync();
                if (!read.Wait(limit))
                {
                    Kill();
                    throw new VerifierException($"{_role} did not answer within {clock.Elapsed.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s " +
                        $"(after {Answered} answered calls; it was stopped): {Command}");
                }
                reply = read.Result;
                crashed = reply is null;
                if (!crashed && !write.Wait(limit - clock.Elapsed > TimeSpan.Zero ? limit - clock.Elapsed : TimeSpan.Zero))
                {
                    Kill();
                    throw new VerifierException($"{_role} answered before reading its whole request and stopped reading (after {Answered} answered calls; it was stopped): {Command}");
                }
            }
            catch (Exception e) when (e is IOException or AggregateException or InvalidOperationException)
            {
                crashed = true;
            }
            if (crashed)
            {
                int? code = ExitCode(process);
                Kill();
                if (attempt >= _retries)
                    throw new VerifierException($"{_role} crashed {attempt + 1} time(s) on one request (exit code {code?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}" +
                        $"{(_lastStderr.Length > 0 ? $", stderr: {Shorten(_lastStderr)}" : "")}; after {Answered} answered calls): {Command}");
                Restarts++;
                continue;
            }
            T? value;
            try { value = parse(reply!); }
            catch (JsonException) { value = null; }
            if (value is not T v)
            {
                Kill();
                throw new VerifierException($"{_role} replied '{Shorten(reply!)}', not a JSON line {expected} (after {Answered} answered calls): {Command}");
            }
            Answered++;
            return v;
        }
    }

    /// <summary>Writes one request line; a broken pipe is not an error here (the reply, or its absence, decides).</summary>
    private static async Task WriteAsync(Process process, string request)
    {
        try
        {
            await process.StandardInput.WriteLineAsync(request).ConfigureAwait(false);
            await process.StandardInput.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { }
    }

    private static string Shorten(string s)
    {
        s = s.Replace('\n', ' ').Replace('\r', ' ');
        return s.Length <= 80 ? s : s[..80] + "…";
    }

    private static int? ExitCode(Process p)
    {
        try { return p.WaitForExit(2000) ? p.ExitCode : null; }
        catch (InvalidOperationException) { return null; }
    }

    private Process Start()
    {
        var psi = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardInputEncoding = new UTF8Encoding(false),
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(Command);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new VerifierException($"cannot start the {_role}: {Command}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new VerifierException($"cannot start the {_role} ({e.Message}): {Command}");
        }
        process.StandardInput.AutoFlush = false;
        process.ErrorDataReceived += (_, e) =>
        {
            if (string.IsNullOrWhiteSpace(e.Data)) return;
            lock (_stderrLock) _lastStderr = e.Data;
        };
        process.BeginErrorReadLine();
        return process;
    }

    private void Kill()
    {
        var p = _process;
        _process = null;
        if (p is null) return;
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit(2000);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        p.Dispose();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var p = _process;
        if (p is null) return;
        try { p.StandardInput.Close(); } catch (IOException) { }
        try { if (!p.WaitForExit(1000)) Kill(); else { _process = null; p.Dispose(); } }
        catch (InvalidOperationException) { _process = null; }
    }
}
