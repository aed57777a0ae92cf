using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
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
/// An external verifier command (docs/FORMATS.md, "Verifier protocol"): one JSON line <c>{"id": n, "prompt": …, "response": …}</c>
/// in, one JSON line <c>{"id": n, "reward": number}</c> back, over a kept-running process (<see cref="JsonLineProcess"/>:
/// request ids, hangs, crashes, retries and caps are handled there). A reply without a finite number <c>reward</c>
/// (garbage) stops the run, quoting the reply.
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
    public double Score(string prompt, string response) =>
        _process.Call<double>(prompt, response, "reward",
            r => r.ValueKind == JsonValueKind.Number && r.TryGetDouble(out double v) && double.IsFinite(v) ? v : null,
            "a finite number");

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();
}

/// <summary>
/// A kept-running external command spoken to in JSON lines (verifiers, feature commands), started through
/// <c>/bin/sh -c</c> in a session (and process group) of its own: one request line <c>{"id": n, "prompt": …, "response": …}</c>
/// on its stdin, one reply line <c>{"id": n, KEY: value}</c> back on its stdout, in order; n counts the requests this
/// process was sent, from 1. Faults (each a <see cref="VerifierException"/>, after which the whole process group is killed):
/// <list type="bullet">
/// <item>no reply within the timeout (a hang; the first reply after each start may take <see cref="StartupGrace"/> longer):
/// no retry, since a hang would cost the timeout again;</item>
/// <item>the process exits or closes stdout before replying (a crash): it is restarted and the same request sent again,
/// at most <c>retries</c> times per request — safe because a request is idempotent, and exact because only answered
/// calls are counted; beyond that, an error;</item>
/// <item>a reply that is not one JSON object holding exactly <c>id</c> and KEY (a duplicate or unknown key, a missing or
/// wrong id, a value the caller refuses): an error naming what is wrong — a wrong id means the replies no longer match
/// the requests, which would otherwise pair rewards with the wrong responses silently;</item>
/// <item>a reply line or a stderr line longer than its cap (<see cref="DefaultMaxLineBytes"/>): an error naming the cap, so
/// a command printing without end cannot exhaust memory.</item>
/// </list>
/// Stderr of the command is drained and its last line quoted in errors. Disposing closes stdin, gives the command a
/// moment to exit, then kills its process group: whatever the command started (a background job, a subprocess) ends
/// with it.
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
    /// <summary>Default cap on one reply line and on one stderr line, in bytes (1 MiB): far above any reward reply, small
    /// enough that a runaway command is stopped long before memory runs out.</summary>
    public const int DefaultMaxLineBytes = 1 << 20;
    /// <summary>How long a disposed command may take to exit on its own after stdin closes (to flush what it keeps)
    /// before its process group is killed.</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(1);
    /// <summary>How long a reply the command printed before it exited may take to be read, once it exited.</summary>
    private static readonly TimeSpan ExitedReplyWait = TimeSpan.FromSeconds(1);

    private readonly string _role;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _startupGrace;
    private readonly int _retries;
    private readonly int _maxReplyBytes;
    private ChildProcess? _child;

    /// <summary>Creates the client (<paramref name="role"/> names it in messages); the process starts on the first call.
    /// <paramref name="maxReplyBytes"/> caps one reply line (default <see cref="DefaultMaxLineBytes"/>);
    /// <paramref name="startupGrace"/> is the extra time of a first reply (default <see cref="StartupGrace"/>).</summary>
    public JsonLineProcess(string role, string command, TimeSpan timeout, int retries, int maxReplyBytes = DefaultMaxLineBytes, TimeSpan? startupGrace = null)
    {
        if (string.IsNullOrWhiteSpace(command)) throw new InputException($"the {role} needs a command (got an empty string)");
        if (retries < 0) throw new InputException($"{role} retries must be ≥ 0, got {retries}");
        if (timeout <= TimeSpan.Zero) throw new InputException($"{role} timeout must be positive");
        if (maxReplyBytes < 1) throw new ArgumentOutOfRangeException(nameof(maxReplyBytes), "the reply cap must be positive");
        _role = role;
        Command = command;
        _timeout = timeout;
        _startupGrace = startupGrace ?? StartupGrace;
        if (_startupGrace < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(startupGrace), "the start-up grace must be ≥ 0");
        _retries = retries;
        _maxReplyBytes = maxReplyBytes;
    }

    /// <summary>The command line.</summary>
    public string Command { get; }
    /// <summary>Requests answered so far (a reply that parsed).</summary>
    public long Answered { get; private set; }
    /// <summary>Restarts after a crash so far.</summary>
    public long Restarts { get; private set; }
    /// <summary>The process id of the running command (the leader of its process group), or null before the first call
    /// and after a fault; for tests and diagnostics.</summary>
    public int? ProcessId => _child?.Id;

    /// <summary>Sends the request <c>{"id", "prompt", "response"}</c> and returns the value of <paramref name="key"/> in the
    /// reply, read by <paramref name="parse"/> (null: refused, described as <paramref name="expected"/> in the error).</summary>
    public T Call<T>(string prompt, string response, string key, Func<JsonElement, T?> parse, string expected) where T : struct
    {
        for (int attempt = 0; ; attempt++)
        {
            bool fresh = _child is null;
            var child = _child ??= ChildProcess.Start(_role, Command, _maxReplyBytes);
            long id = ++child.Requests;
            string? reply = null;
            bool crashed = false;
            try
            {
                // The request is written while the reply is awaited, both under the timeout: a process that does not read
                // its input cannot block the run on a full pipe, and one that exits after printing its reply (a broken
                // pipe on our side) is judged by what it printed.
                var clock = Stopwatch.StartNew();
                var limit = fresh ? _timeout + _startupGrace : _timeout;
                var write = child.WriteLine(RequestLine(id, prompt, response));
                var read = child.ReadLine();
                // The command's exit ends the wait too: something it started may hold stdout open, and its exit is a crash
                // all the same (what it printed before exiting is still read, and judged).
                int first = Task.WaitAny([read, child.Exited], limit);
                // A timed wait may end a little early (timer resolution): the timeout is waited in full.
                while (first == -1 && clock.Elapsed < limit) first = Task.WaitAny([read, child.Exited], limit - clock.Elapsed);
                if (first == 1 && !read.Wait(ExitedReplyWait)) first = -2;
                if (first == -1)
                {
                    string allowed = fresh && _startupGrace > TimeSpan.Zero ? $"; a first reply is allowed {Seconds(_timeout)} s + {Seconds(_startupGrace)} s of start-up" : "";
                    throw Stop(child, $"did not answer within {Seconds(clock.Elapsed)} s{allowed}");
                }
                reply = first == -2 ? null : read.Result;
                crashed = reply is null;
                if (!crashed && !write.Wait(limit - clock.Elapsed > TimeSpan.Zero ? limit - clock.Elapsed : TimeSpan.Zero))
                    throw Stop(child, "answered before reading its whole request and stopped reading");
            }
            catch (AggregateException e) when (e.InnerException is LineTooLongException)
            {
                throw Stop(child, $"printed a reply line longer than the {Bytes(_maxReplyBytes)} cap on a reply");
            }
            catch (Exception e) when (e is IOException or AggregateException or InvalidOperationException or ObjectDisposedException)
            {
                crashed = true;
            }
            if (crashed)
            {
                int? code = child.ExitCode();
                // Checked after the exit: closing stdout while printing without end on stderr is the same fault.
                if (child.StderrOverflow) throw Stop(child, StderrTooLong);
                string stderr = child.LastStderr;
                Discard(child);
                if (attempt >= _retries)
                    throw new VerifierException($"{_role} crashed {attempt + 1} time(s) on one request (exit code {code?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}" +
                        $"{(stderr.Length > 0 ? $", stderr: {Shorten(stderr)}" : "")}; after {Answered} answered calls): {Command}");
                Restarts++;
                continue;
            }
            if (child.StderrOverflow) throw Stop(child, StderrTooLong);
            var value = Read(child, reply!, id, key, parse, expected);
            Answered++;
            return value;
        }
    }

    /// <summary>The value of <paramref name="key"/> in a reply that must be one JSON object holding exactly <c>id</c> (equal
    /// to <paramref name="id"/>) and <paramref name="key"/>; anything else stops the process with an error saying what.</summary>
    private T Read<T>(ChildProcess child, string reply, long id, string key, Func<JsonElement, T?> parse, string expected) where T : struct
    {
        string shape = $"{{\"id\": {id}, \"{key}\": {expected}}}";
        JsonDocument doc;
        try { doc = JsonDocument.Parse(reply); }
        catch (JsonException) { throw Stop(child, $"replied '{Shorten(reply)}', not a JSON line {shape}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Stop(child, $"replied '{Shorten(reply)}', not a JSON line {shape}");
            JsonElement? idValue = null, value = null;
            foreach (var property in root.EnumerateObject())
            {
                bool isId = property.NameEquals("id");
                if (!isId && !property.NameEquals(key))
                    throw Stop(child, $"replied with the unknown key '{Shorten(property.Name)}' (a reply holds exactly \"id\" and \"{key}\"): '{Shorten(reply)}'");
                if ((isId ? idValue : value) is not null)
                    throw Stop(child, $"replied with the key '{property.Name}' twice: '{Shorten(reply)}'");
                if (isId) idValue = property.Value; else value = property.Value;
            }
            if (idValue is not { } given)
                throw Stop(child, $"replied without \"id\" to request {id}: each reply must echo its request's id, {shape}: '{Shorten(reply)}'");
            if (!WholeNumber(given, out long answered))
                throw Stop(child, $"replied with the id {Shorten(given.GetRawText())} to request {id}: the id must echo the request's number: '{Shorten(reply)}'");
            if (answered != id)
                throw Stop(child, $"replied to request {answered} while {id} was asked: a {_role} must answer each request in order");
            T? parsed = value is { } v ? parse(v) : null;
            if (parsed is not T result) throw Stop(child, $"replied '{Shorten(reply)}', not a JSON line {shape}");
            return result;
        }
    }

    private static bool WholeNumber(JsonElement e, out long n)
    {
        n = 0;
        if (e.ValueKind != JsonValueKind.Number) return false;
        if (e.TryGetInt64(out n)) return true;
        // 7.0 is the number 7 (some JSON writers print every number as a double).
        if (!e.TryGetDouble(out double d) || d != Math.Floor(d) || Math.Abs(d) > 9007199254740992) return false;
        n = (long)d;
        return true;
    }

    /// <summary>One request line: <c>{"id":n,"prompt":…,"response":…}</c>.</summary>
    private static byte[] RequestLine(long id, string prompt, string response)
    {
        var buffer = new ArrayBufferWriter<byte>(prompt.Length + response.Length + 48);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("id", id);
            writer.WriteString("prompt", prompt);
            writer.WriteString("response", response);
            writer.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Kills <paramref name="child"/>'s process group and returns the error <paramref name="what"/> describes.</summary>
    private VerifierException Stop(ChildProcess child, string what)
    {
        Discard(child);
        return new VerifierException($"{_role} {what} (after {Answered} answered calls; it was stopped): {Command}");
    }

    private void Discard(ChildProcess child)
    {
        if (ReferenceEquals(_child, child)) _child = null;
        child.Kill();
    }

    private static readonly string StderrTooLong = $"wrote a stderr line longer than the {Bytes(DefaultMaxLineBytes)} cap on a stderr line";

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static string Bytes(int n) => n % (1 << 20) == 0 ? $"{n >> 20} MiB" : $"{n.ToString(CultureInfo.InvariantCulture)}-byte";

    private static string Shorten(string s)
    {
        s = s.Replace('\n', ' ').Replace('\r', ' ');
        return s.Length <= 80 ? s : s[..80] + "…";
    }

    /// <inheritdoc />
    public void Dispose()
    {
        var child = _child;
        _child = null;
        child?.Close(ExitGrace);
    }
}

/// <summary>A line longer than the reader's cap.</summary>
internal sealed class LineTooLongException(int cap) : IOException($"a line longer than {cap} bytes");

/// <summary>
/// Reads '\n'-terminated lines of at most a cap of bytes (a trailing '\r' dropped, UTF-8 decoded) from a stream. A longer
/// line throws <see cref="LineTooLongException"/> as soon as the cap is passed, having kept at most the cap in memory
/// (<see cref="StreamReader.ReadLineAsync()"/> would keep the whole line, however long). At the end of the stream a last
/// unterminated line is returned, then null.
/// </summary>
internal sealed class BoundedLineReader(Stream stream, int cap)
{
    private readonly byte[] _chunk = new byte[64 * 1024];
    private int _start, _end;
    private bool _ended;
    private byte[] _line = new byte[Math.Min(cap, 4096)];
    private int _length;

    /// <summary>The next line, or null at the end of the stream.</summary>
    public async Task<string?> ReadLineAsync()
    {
        _length = 0;
        while (true)
        {
            if (_start < _end)
            {
                int newline = Array.IndexOf(_chunk, (byte)'\n', _start, _end - _start);
                int stop = newline >= 0 ? newline : _end;
                Append(_chunk.AsSpan(_start, stop - _start));
                _start = newline >= 0 ? newline + 1 : _end;
                if (newline >= 0) return Decode();
            }
            if (_ended) return _length > 0 ? Decode() : null;
            _start = 0;
            _end = await stream.ReadAsync(_chunk).ConfigureAwait(false);
            if (_end == 0) _ended = true;
        }
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > cap - _length) throw new LineTooLongException(cap);
        if (_length + bytes.Length > _line.Length) Array.Resize(ref _line, (int)Math.Min(cap, Math.Max(2L * _line.Length, _length + bytes.Length)));
        bytes.CopyTo(_line.AsSpan(_length));
        _length += bytes.Length;
    }

    private string Decode()
    {
        int n = _length > 0 && _line[_length - 1] == (byte)'\r' ? _length - 1 : _length;
        return Encoding.UTF8.GetString(_line, 0, n);
    }
}

/// <summary>
/// One started command: <c>/bin/sh -c COMMAND</c> run through util-linux <c>setsid</c>, so that it leads a session and a
/// process group of its own whose id is its pid; <see cref="Kill"/> sends SIGKILL to the whole group, which ends what
/// the command started as well (a background job, a subprocess) — killing only the shell would leave those running,
/// adopted by init. Without <c>setsid</c> (not Linux) the command runs in our group and only its process tree is killed.
/// Its stderr is drained here, keeping the last line (bounded).
/// </summary>
internal sealed class ChildProcess
{
    private const int SigKill = 9;
    /// <summary>Bytes of a stderr line kept for quoting (the quote shows far fewer).</summary>
    private const int StderrKept = 4096;
    private static readonly string? Setsid = FindSetsid();

    private readonly Process _process;
    private readonly bool _ownGroup;
    private readonly BoundedLineReader _stdout;
    private readonly Lock _stderrLock = new();
    private string _lastStderr = "";
    private volatile bool _stderrOverflow;
    private readonly Task _drain;
    private Task _write = Task.CompletedTask;
    private int _killed;

    private ChildProcess(Process process, bool ownGroup, int maxReplyBytes)
    {
        _process = process;
        _ownGroup = ownGroup;
        Id = process.Id;
        _stdout = new BoundedLineReader(process.StandardOutput.BaseStream, maxReplyBytes);
        if (ownGroup) LiveGroups.Add(Id);
        _drain = Task.Run(DrainStderr);
        Exited = process.WaitForExitAsync();
    }

    /// <summary>The pid (with <c>setsid</c>, also the id of its session and process group).</summary>
    public int Id { get; }
    /// <summary>Completes when the process exits.</summary>
    public Task Exited { get; }
    /// <summary>Requests sent to this process (the id of the last one).</summary>
    public long Requests { get; set; }
    /// <summary>The last non-blank stderr line (at most <see cref="StderrKept"/> bytes of it).</summary>
    public string LastStderr { get { lock (_stderrLock) return _lastStderr; } }
    /// <summary>Whether the command wrote a stderr line longer than the cap (it was then killed).</summary>
    public bool StderrOverflow => _stderrOverflow;

    /// <summary>Starts <paramref name="command"/> (a <see cref="VerifierException"/> if it cannot be started).</summary>
    public static ChildProcess Start(string role, string command, int maxReplyBytes)
    {
        var psi = new ProcessStartInfo(Setsid ?? "/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // setsid execs the shell in place (we are not a group leader, so it need not fork): the pid we see is the group's id.
        if (Setsid is not null) psi.ArgumentList.Add("/bin/sh");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new VerifierException($"cannot start the {role}: {command}");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new VerifierException($"cannot start the {role} ({e.Message}): {command}");
        }
        return new ChildProcess(process, Setsid is not null, maxReplyBytes);
    }

    /// <summary>Writes one request line (on a pool thread: a write to a full pipe blocks until the command reads or dies).
    /// A broken pipe is not an error here: the reply, or its absence, decides.</summary>
    public Task WriteLine(byte[] line)
    {
        var stdin = _process.StandardInput.BaseStream;
        return _write = Task.Run(async () =>
        {
            try
            {
                await stdin.WriteAsync(line).ConfigureAwait(false);
                await stdin.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { }
        });
    }

    /// <summary>Reads one reply line (null: stdout closed; <see cref="LineTooLongException"/> past the cap).</summary>
    public Task<string?> ReadLine() => _stdout.ReadLineAsync();

    /// <summary>The exit code, waiting briefly for the exit (null if it did not exit), and for the last of stderr to be
    /// read, so that <see cref="LastStderr"/> holds the command's last words.</summary>
    public int? ExitCode()
    {
        int? code;
        try { code = _process.WaitForExit(2000) ? _process.ExitCode : null; }
        catch (InvalidOperationException) { code = null; }
        _drain.Wait(TimeSpan.FromMilliseconds(500)); // a child it left behind may hold stderr open: do not wait for that
        return code;
    }

    /// <summary>Closes stdin (the end of the run), waits up to <paramref name="grace"/> for the command to exit, then kills
    /// its group whatever it did: a command that exited may have left children behind.</summary>
    public void Close(TimeSpan grace)
    {
        if (_write.IsCompleted)
        {
            try
            {
                _process.StandardInput.Close();
                _process.WaitForExit(grace);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
        Kill();
    }

    /// <summary>SIGKILL to the process group (or the process tree), then reaps the process. Idempotent.</summary>
    public void Kill()
    {
        if (Interlocked.Exchange(ref _killed, 1) == 1) return;
        Signal();
        try { _process.WaitForExit(2000); }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        if (_ownGroup) LiveGroups.Remove(Id);
        _process.Dispose();
    }

    private void Signal()
    {
        if (_ownGroup)
        {
            // The group first (everything the command started), then the process itself, in case it has not reached
            // setsid yet (it then has no children either).
            _ = NativeKill(-Id, SigKill);
            try { if (!_process.HasExited) _ = NativeKill(Id, SigKill); } // not once it exited: its pid may be reused
            catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException) { }
            return;
        }
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or System.ComponentModel.Win32Exception) { }
    }

    /// <summary>Drains stderr, keeping the last non-blank line; a line ('\n' or '\r' ends one, so progress bars count as
    /// lines) longer than the cap kills the command, which the pending call then reports.</summary>
    private async Task DrainStderr()
    {
        var stream = _process.StandardError.BaseStream;
        var chunk = new byte[8192];
        var kept = new byte[StderrKept];
        int keptLength = 0;
        long lineLength = 0;
        try
        {
            while (true)
            {
                int n = await stream.ReadAsync(chunk).ConfigureAwait(false);
                if (n == 0) break;
                for (int i = 0; i < n; i++)
                {
                    byte b = chunk[i];
                    if (b is (byte)'\n' or (byte)'\r')
                    {
                        if (keptLength > 0)
                        {
                            string line = Encoding.UTF8.GetString(kept, 0, keptLength);
                            if (!string.IsNullOrWhiteSpace(line)) lock (_stderrLock) _lastStderr = line;
                        }
                        keptLength = 0;
                        lineLength = 0;
                        continue;
                    }
                    if (++lineLength > JsonLineProcess.DefaultMaxLineBytes)
                    {
                        _stderrOverflow = true;
                        Signal();
                        return;
                    }
                    if (keptLength < kept.Length) kept[keptLength++] = b;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { }
    }

    private static string? FindSetsid()
    {
        if (!OperatingSystem.IsLinux()) return null;
        foreach (string dir in new[] { "/usr/bin", "/bin" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)))
        {
            string path = Path.Combine(dir, "setsid");
            if (File.Exists(path)) return path;
        }
        return null;
    }

#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code (source-generated marshalling); one plain call does not
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int NativeKill(int pid, int signal);
#pragma warning restore SYSLIB1054

    /// <summary>
    /// The process groups started and not yet killed. When this process exits without disposing a run (an unhandled
    /// error, <see cref="Environment.Exit"/>, SIGTERM), they are killed here: in their own sessions they no longer share
    /// our fate, nor the terminal's Ctrl-C.
    /// </summary>
    private static class LiveGroups
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> Groups = new();

        static LiveGroups() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (int group in Groups.Keys) _ = NativeKill(-group, SigKill);
        };

        public static void Add(int group) => Groups[group] = 0;
        public static void Remove(int group) => Groups.TryRemove(group, out _);
    }
}
