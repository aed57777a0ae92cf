using System.Diagnostics;
using System.Runtime.InteropServices;
using LmExplore.Cli;

namespace LmExplore.Tests.Cli;

/// <summary>
/// FIFOs, character devices and links made inside a test's own temporary directory — never the system's: a test that
/// targets real <c>/dev/null</c> or <c>/dev/full</c> as root could replace them.
/// </summary>
internal static class SpecialFiles
{
    /// <summary>True when the tests run as root (only root may create a character device).</summary>
    public static bool IsRoot => OperatingSystem.IsLinux() && Native.geteuid() == 0;

    /// <summary>Creates a FIFO (named pipe) at <paramref name="path"/>.</summary>
    public static string Fifo(string path)
    {
        Assert.True(Native.mkfifo(path, 0b110_100_100) == 0, $"mkfifo {path} failed (errno {Marshal.GetLastPInvokeError()})");
        return path;
    }

    /// <summary>Creates a character device with /dev/null's numbers (1, 3) at <paramref name="path"/> (root only). Writing
    /// to it would be harmless; the tests check that nothing even tries, because the refusal comes first.</summary>
    public static string CharacterDevice(string path)
    {
        using var mknod = Process.Start(new ProcessStartInfo("mknod", [path, "c", "1", "3"]) { UseShellExecute = false, RedirectStandardError = true })!;
        mknod.WaitForExit();
        Assert.True(mknod.ExitCode == 0, $"mknod {path} c 1 3 failed: {mknod.StandardError.ReadToEnd()}");
        return path;
    }

    /// <summary>Creates a Unix domain socket file at <paramref name="path"/> (kept until the returned handle is disposed).</summary>
    public static IDisposable Socket(string path)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        return socket;
    }

    /// <summary>What <paramref name="path"/> is, without following a link: "fifo", "chr", "dir", "link", "file", "missing".</summary>
    public static string KindOf(string path) => LmExplore.Instances.FileKinds.Of(path) switch
    {
        LmExplore.Instances.FileKind.Fifo => "fifo",
        LmExplore.Instances.FileKind.CharacterDevice => "chr",
        LmExplore.Instances.FileKind.Directory => "dir",
        LmExplore.Instances.FileKind.SymbolicLink => "link",
        LmExplore.Instances.FileKind.Regular => "file",
        LmExplore.Instances.FileKind.Missing => "missing",
        var other => other.ToString(),
    };

    /// <summary>
    /// Invokes the CLI in-process, failing the test — instead of hanging the suite — when it has not returned within
    /// <paramref name="timeout"/>; a writer blocked in <c>open()</c> on one of <paramref name="fifos"/> is then released
    /// by opening its other end.
    /// </summary>
    public static CliOutcome InvokeBounded(RunFunc? runner, string[] args, TimeSpan timeout, params string[] fifos)
    {
        var invocation = Task.Run(() => CliHarness.Invoke(runner, args));
        if (invocation.Wait(timeout)) return invocation.Result;
        foreach (var fifo in fifos)
            _ = Task.Run(() => { try { using var reader = new FileStream(fifo, FileMode.Open, FileAccess.Read); } catch (IOException) { } });
        Assert.Fail($"lmexplore {string.Join(' ', args)} did not return within {timeout.TotalSeconds} s (blocked on a FIFO or a device?)");
        return null!;
    }

    private static class Native
    {
#pragma warning disable SYSLIB1054
        [DllImport("libc", SetLastError = true)]
        public static extern int mkfifo([MarshalAs(UnmanagedType.LPUTF8Str)] string path, uint mode);

        [DllImport("libc")]
        public static extern uint geteuid();
#pragma warning restore SYSLIB1054
    }
}

/// <summary>A theory that runs only as root (it creates a character device with mknod); skipped otherwise.</summary>
public sealed class RootTheoryAttribute : TheoryAttribute
{
    public RootTheoryAttribute()
    {
        if (!SpecialFiles.IsRoot) Skip = "needs root: creates a character device with mknod in a temporary directory";
    }
}
