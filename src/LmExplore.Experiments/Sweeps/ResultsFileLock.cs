using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace LmExplore.Experiments.Sweeps;

/// <summary>
/// An exclusive, cross-process lock on a results file, held by every writer of one (a sweep for its whole life,
/// <c>run --out</c> for one append, <c>merge --out</c> for its write), so that two writers can never interleave
/// or replace each other's lines.
/// </summary>
/// <remarks>
/// The lock is a sidecar file <c>.NAME.lock</c> next to <c>NAME</c>, opened with <see cref="FileShare.None"/>.
/// On Linux and macOS .NET implements that with <c>flock(LOCK_EX | LOCK_NB)</c>: advisory, per open file, released
/// by the kernel when the holder exits or is killed, so a crash never leaves a stale lock. A sidecar rather than
/// the results file itself because .NET takes a shared <c>flock</c> on every open for reading (a locked results
/// file could not be read by <c>merge</c> or by the sweep's own resume), and because <c>merge --out</c> replaces
/// the file by a rename, which would orphan a lock held on the old file. The sidecar is never deleted: deleting a
/// lock file while another process waits on it lets two processes each lock a different file.
/// </remarks>
public sealed class ResultsFileLock : IDisposable
{
    private readonly FileStream _stream;

    private ResultsFileLock(string resultsPath, FileStream stream)
    {
        ResultsPath = resultsPath;
        _stream = stream;
    }

    /// <summary>The results file this lock guards.</summary>
    public string ResultsPath { get; }

    /// <summary>The sidecar lock file of <paramref name="resultsPath"/>: <c>.NAME.lock</c> in the same directory (that of
    /// the link's final target when the path is a symbolic link).</summary>
    public static string LockPathOf(string resultsPath)
    {
        // Beside the final target of a symbolic link: writers reaching one file through different names share its lock.
        var full = LmExplore.Instances.OutputPath.Resolve(resultsPath) ?? Path.GetFullPath(resultsPath);
        return Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".lock");
    }

    /// <summary>
    /// Takes the lock, waiting up to <paramref name="wait"/> (zero: refuse at once) while another process holds it.
    /// <paramref name="holder"/> (e.g. <c>sweep</c>) is recorded for the message a refused writer prints.
    /// Throws <see cref="InputException"/> naming the file and, where the system lets us read it, the holder's pid.
    /// </summary>
    public static ResultsFileLock Acquire(string resultsPath, string holder, TimeSpan wait)
    {
        var lockPath = LockPathOf(resultsPath);
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            FileStream stream;
            try
            {
                stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (IsHeldElsewhere(e))
            {
                if (clock.Elapsed >= wait)
                {
                    var owner = ReadOwner(lockPath);
                    var waited = wait > TimeSpan.Zero ? $" (waited {wait.TotalSeconds:0} s)" : "";
                    throw new InputException($"{resultsPath} is being written by another lmexplore process{(owner is null ? "" : $" ({owner})")}{waited}; " +
                        "wait for it to finish or choose another --out");
                }
                // Appends hold the lock for milliseconds: poll quickly at first, then back off (jitter avoids lock-step retries).
                Thread.Sleep(pause + TimeSpan.FromMilliseconds(Random.Shared.Next(5)));
                pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 200));
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new InputException($"cannot lock {resultsPath} (lock file {lockPath}): {e.Message.ReplaceLineEndings(" ")}");
            }
            // Who holds it, for the message a refused writer prints; the content is informational only.
            var note = Encoding.UTF8.GetBytes($"pid {Environment.ProcessId}, {holder}\n");
            stream.SetLength(0);
            stream.Write(note);
            stream.Flush();
            return new ResultsFileLock(resultsPath, stream);
        }
    }

    /// <summary>Releases the lock (the sidecar file stays).</summary>
    public void Dispose() => _stream.Dispose();

    /// <summary>True for the sharing violation FileShare.None raises while another handle holds the file.</summary>
    private static bool IsHeldElsewhere(IOException e) => e.HResult switch
    {
        11 or 35 => true, // EWOULDBLOCK from flock on Linux (11) and macOS (35)
        unchecked((int)0x80070020) or unchecked((int)0x80070021) => true, // Windows ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION
        _ => false,
    };

    /// <summary>
    /// The holder's note (<c>pid N, sweep</c>), or null. .NET takes a shared flock on every open, which the holder's
    /// exclusive lock refuses, so on Unix the note is read with plain open/read; elsewhere it is not readable.
    /// </summary>
    private static string? ReadOwner(string lockPath)
    {
        if (OperatingSystem.IsWindows()) return null;
        try
        {
            int fd = Libc.open(lockPath, 0 /* O_RDONLY */);
            if (fd < 0) return null;
            try
            {
                var buffer = new byte[128];
                long n = Libc.read(fd, buffer, buffer.Length);
                if (n <= 0) return null;
                var text = Encoding.UTF8.GetString(buffer, 0, (int)n).Trim();
                return text.StartsWith("pid ", StringComparison.Ordinal) && !text.Contains('\n') ? text : null;
            }
            finally
            {
                Libc.close(fd);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or MarshalDirectiveException)
        {
            return null;
        }
    }

    private static class Libc
    {
#pragma warning disable SYSLIB1054 // LibraryImport would need unsafe code (source-generated marshalling); three plain calls do not
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern nint read(int fd, byte[] buffer, nint count);

        [DllImport("libc")]
        public static extern int close(int fd);
#pragma warning restore SYSLIB1054
    }
}
