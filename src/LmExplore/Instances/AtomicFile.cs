using System.Text;

namespace LmExplore.Instances;

/// <summary>Never a half-written file: write to a temporary file in the same directory, then rename over the target
/// (the final target of a symbolic link: the link stays).</summary>
internal static class AtomicFile
{
    /// <summary>Runs <paramref name="write"/> on a temp file next to <paramref name="path"/> and renames it into place.
    /// I/O failures become one-line <see cref="InputException"/>s and leave no temp file behind.</summary>
    public static void Write(string path, Action<TextWriter> write) => WriteBytes(path, stream =>
    {
        using var w = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        write(w);
    });

    /// <summary>As <see cref="Write(string, Action{TextWriter})"/>, for binary content written to a stream.</summary>
    public static void WriteBytes(string path, Action<Stream> write)
    {
        // The output rule (OutputPath): a regular file or a new one, never a FIFO or device the rename would replace; a
        // symbolic link is written through, so the temporary file goes next to the link's final target.
        string full = OutputPath.Target(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        string tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        // A SIGTERM (kill, timeout) mid-write terminates the process: remove the temp file first (the target is never
        // touched). The handler does not cancel the signal, so the default termination follows.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => TryDelete(tmp));
        bool moved = false;
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                write(stream);
            File.Move(tmp, full, overwrite: true);
            moved = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException($"{path}: cannot write ({e.Message.Replace('\n', ' ').Replace('\r', ' ')})");
        }
        finally
        {
            if (!moved) TryDelete(tmp);   // any failure, I/O or not, leaves no temp file behind
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Writes a whole string atomically.</summary>
    public static void WriteAllText(string path, string text) => Write(path, w => w.Write(text));
}
